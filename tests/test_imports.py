"""emlab is laid out in floors that only look down, and its imports form no cycle.

The graph is read from the source with :mod:`ast`, so it holds every import, also the
lazy ones inside functions (which run later, but a cycle among them is a circle all the
same). One kind is left out, on purpose: a module-level ``__getattr__`` that re-exports
an estimator from the floor above (``from emlab.gmm import GaussianMixture``, which
lesson 06 and the checks use, loads ``emlab.estimators.gaussian_mixture`` only when that
name is asked for). Such a re-export runs after both modules have loaded, so it cannot
take part in a circular import; the test checks that these are the only upward imports
and that each names one of the estimators, nothing else.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emlab"

#: The floors, lowest first. A module may import from its own floor (without a cycle)
#: or from one below it, never from one above.
FLOORS = {
    "emlab.em": 0,
    "emlab.validation": 0,
    "emlab.mle": 1,
    "emlab.gmm": 1,
    "emlab.kmeans": 1,
    "emlab.coins": 1,
    "emlab.map_em": 1,
    "emlab.missing": 1,
    "emlab.hmm": 1,
    "emlab.bound": 1,
    "emlab.online_em": 1,
    "emlab.engines": 2,
    "emlab.estimators": 3,
}
#: Modules beside the floors that use them (data sets, figures, widgets, checks, grading):
#: above every floor.
APPLICATIONS = 4
#: The lazy re-exports allowed (see the module's docstring): module -> (name, defined in).
REEXPORTS = {
    "emlab.gmm": ("GaussianMixture", "emlab.estimators.gaussian_mixture"),
    "emlab.kmeans": ("KMeans", "emlab.estimators.kmeans"),
    "emlab.coins": ("BinomialMixture", "emlab.estimators.binomial_mixture"),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        package_dir = path.with_suffix("")
        if path.name != "__init__.py" and (package_dir / "__init__.py").exists():
            continue  # a module shadowed by a package of the same name is never imported
        modules[name] = path
    return modules


def _floor(module: str) -> int:
    for prefix, floor in FLOORS.items():
        if module == prefix or module.startswith(prefix + "."):
            return floor
    return APPLICATIONS


def _in_module_getattr(node, parents) -> bool:
    """Whether ``node`` sits inside a module-level ``def __getattr__``."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            return isinstance(parents.get(node), ast.Module)
    return False


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """Yield ``(target, lazy_reexport, line)`` for every emlab module ``name`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            # ``from emlab import gmm`` imports the module emlab.gmm
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # emlab.gmm.e_step -> emlab.gmm
                target = target.rpartition(".")[0]
            if target.startswith("emlab") and target != name:
                yield target, _in_module_getattr(node, parents), node.lineno


def _graph():
    modules = _modules()
    edges, reexports = {}, []
    for name, path in modules.items():
        edges[name] = set()
        for target, lazy_reexport, line in _imports(name, path, modules):
            if lazy_reexport:
                reexports.append((name, target, line))
            else:
                edges[name].add(target)
    return edges, reexports


def _cycle(edges):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(edges):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_graph_reads_the_package():
    edges, reexports = _graph()
    # the parser sees the imports it must see (a graph with no edges has no cycle either)
    assert "emlab.gmm" in edges["emlab.engines.gmm"]
    assert "emlab.engines.workspace" in edges["emlab.engines.kmeans"]
    assert "emlab.engines.gmm" in edges["emlab.estimators.gaussian_mixture"]
    assert {(m, t) for m, t, _ in reexports} == {(m, t) for m, (_, t) in REEXPORTS.items()}


def test_no_import_cycle():
    edges, _ = _graph()
    cycle = _cycle(edges)
    assert cycle is None, "emlab's imports form a cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_floors_only_look_down():
    edges, _ = _graph()
    upward = [
        f"{module} (floor {_floor(module)}) imports {target} (floor {_floor(target)})"
        for module, targets in edges.items()
        for target in targets
        if _floor(target) > _floor(module)
    ]
    assert not upward, "imports that look up a floor:\n" + "\n".join(upward)


@pytest.mark.parametrize("module", sorted(REEXPORTS))
def test_lazy_reexports_give_the_estimator(module):
    name, home = REEXPORTS[module]
    assert getattr(importlib.import_module(module), name) is getattr(
        importlib.import_module(home), name
    )
    with pytest.raises(AttributeError, match="no attribute"):
        importlib.import_module(module).__getattr__("NotAName")


def test_lesson_imports_still_work():
    """Every name a lesson takes from emlab's modules is still there."""
    import json
    import re

    notebooks = sorted((PACKAGE.parent / "notebooks").glob("*.ipynb"))
    assert notebooks
    used = set()
    for notebook in notebooks:
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            for module, names in re.findall(r"from (emlab(?:\.\w+)*) import ([\w, ]+)", source):
                used.update((module, n.split(" as ")[0].strip()) for n in names.split(","))
            for module, name in re.findall(r"\b(gmm|kmeans|coins|em|mle)\.(\w+)\b", source):
                if re.search(rf"^\s*{module}\s*=", code, re.M):
                    continue  # a variable of the lesson's own with that name, not the module
                used.add((f"emlab.{module}", name))
            for name in re.findall(r"\bemlab\.(\w+)", source):
                used.add(("emlab", name))
    missing = []
    for module, name in sorted(used):
        if not hasattr(importlib.import_module(module), name):
            if not importlib.util.find_spec(f"{module}.{name}"):
                missing.append(f"{module}.{name}")
    assert not missing, f"lessons use names emlab no longer has: {missing}"
