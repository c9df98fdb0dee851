"""The project's own promises: one dependency list, lint-clean code, clean notebooks, true README."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NBCHECK = ROOT.parent / "shared" / "tools" / "nbcheck.py"


def _name(requirement: str) -> str:
    """The distribution name of a requirement such as ``numpy>=1.26``, normalized."""
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in requirements if "python_version" not in r}

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        else:
            conda.add(_name(dep))
    assert "conda-forge" in env["channels"]
    assert any(
        r.startswith("-e .") for d in env["dependencies"] if isinstance(d, dict) for r in d["pip"]
    )
    have = (conda | pip) - {"python", "pip"}
    assert wanted - have == set(), "in pyproject.toml but not environment.yml"
    assert have - wanted == set(), "in environment.yml but not pyproject.toml"


def _ruff(*args):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed; install the test extra: pip install -e '.[test]'")
    targets = [
        t for t in ("emlab", "tests", "notebooks", "benchmarks", "tools") if (ROOT / t).exists()
    ]
    return subprocess.run([ruff, *args, *targets], cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    result = _ruff("check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _ruff("format", "--check", "--no-cache")
    assert result.returncode == 0, "run `make format`\n" + result.stdout + result.stderr


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    assert "make lab" in first_block and "make test" in first_block
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_no_notebook_cell_ends_with_a_semicolon():
    # nbval runs cells without IPython's history, where a trailing ";" is looked up, so the repr
    # it hides in JupyterLab is printed under nbval and the stored outputs no longer match.
    offenders = [
        f"{path.name} cell {index}"
        for path in sorted((ROOT / "notebooks").rglob("[0-9]*.ipynb"))
        for index, cell in enumerate(json.loads(path.read_text())["cells"])
        if cell["cell_type"] == "code" and "".join(cell["source"]).rstrip().endswith(";")
    ]
    assert offenders == [], "end plotting cells with an assignment instead of ';'"


@pytest.mark.skipif(not NBCHECK.exists(), reason="the course's nbcheck tool lives in ../shared")
def test_notebooks_pass_nbcheck():
    if not list((ROOT / "notebooks").glob("*.ipynb")):
        pytest.skip("no notebooks yet")
    result = subprocess.run(
        [sys.executable, str(NBCHECK), "notebooks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _tidy_outputs():
    """tools/tidy_outputs.py, imported from its path (tools/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "tidy_outputs", ROOT / "tools" / "tidy_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _widget_notebook(ids, order):
    """A small executed notebook: a box (shown) holding a slider, each with a layout."""
    box, slider, box_layout, slider_layout, orphan = ids

    def model(name, **state):
        return {"model_name": name, "state": {"_model_name": name, **state}}

    state = {
        box: model("VBoxModel", children=[f"IPY_MODEL_{slider}"], layout=f"IPY_MODEL_{box_layout}"),
        slider: model("IntSliderModel", value=3, layout=f"IPY_MODEL_{slider_layout}"),
        box_layout: model("LayoutModel", width="50%"),
        slider_layout: model("LayoutModel", width=None),
        orphan: model("DescriptionStyleModel", description_width=""),
    }
    view = "application/vnd.jupyter.widget-view+json"
    return {
        "cells": [
            {"cell_type": "code", "outputs": [{"data": {"text/plain": "2"}}]},
            {"cell_type": "code", "outputs": [{"data": {view: {"model_id": box}}}]},
        ],
        "metadata": {
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {
                    "state": {key: state[key] for key in order},
                    "version_major": 2,
                    "version_minor": 0,
                }
            }
        },
    }


def test_stable_widget_ids_do_not_depend_on_the_random_ids_or_their_order():
    tool = _tidy_outputs()
    state_key = "application/vnd.jupyter.widget-state+json"
    first_ids = ["0f" * 16, "9e" * 16, "8d" * 16, "7c" * 16, "6b" * 16]
    second_ids = ["1a" * 16, "2b" * 16, "3c" * 16, "4d" * 16, "5e" * 16]
    first = _widget_notebook(first_ids, first_ids)
    second = _widget_notebook(second_ids, [second_ids[i] for i in (4, 2, 0, 3, 1)])
    one = tool.stable_widget_ids(first, "03-kmeans.ipynb")
    two = tool.stable_widget_ids(second, "03-kmeans.ipynb")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)

    # every reference still points at the right model
    state = one["metadata"]["widgets"][state_key]["state"]
    assert len(state) == 5 and not set(state) & set(first_ids)
    shown = one["cells"][1]["outputs"][0]["data"]["application/vnd.jupyter.widget-view+json"]
    box = state[shown["model_id"]]["state"]
    assert box["_model_name"] == "VBoxModel"
    slider = state[box["children"][0].removeprefix("IPY_MODEL_")]["state"]
    assert slider["_model_name"] == "IntSliderModel" and slider["value"] == 3
    assert state[slider["layout"].removeprefix("IPY_MODEL_")]["state"]["width"] is None
    assert state[box["layout"].removeprefix("IPY_MODEL_")]["state"]["width"] == "50%"

    # another lesson's models get other ids
    other = tool.stable_widget_ids(_widget_notebook(second_ids, second_ids), "04-two-coins.ipynb")
    assert not set(state) & set(other["metadata"]["widgets"][state_key]["state"])


def test_animation_ids_are_numbered_per_notebook_and_streams_are_merged():
    tool = _tidy_outputs()

    def notebook(first_id, second_id):
        html = [
            f'<img id="_anim_img{first_id}">\n',
            f'<button onclick="anim{first_id}.faster()">\n',
        ]
        return {
            "cells": [
                {
                    "cell_type": "code",
                    "outputs": [
                        {"output_type": "stream", "name": "stdout", "text": ["a = 1\n"]},
                        {"output_type": "stream", "name": "stdout", "text": ["b = 2\n", "c"]},
                        {"output_type": "stream", "name": "stderr", "text": ["careful\n"]},
                        {"output_type": "stream", "name": "stdout", "text": [" = 3\n"]},
                    ],
                },
                {"cell_type": "code", "outputs": [{"data": {"text/html": html}}]},
                {
                    "cell_type": "code",
                    "outputs": [{"data": {"text/html": f'<img id="_anim_img{second_id}">'}}],
                },
            ],
            "metadata": {},
        }

    one = tool.tidy(notebook("ab" * 16, "cd" * 16), "05-gaussian-mixtures-1d.ipynb")
    two = tool.tidy(notebook("12" * 16, "34" * 16), "05-gaussian-mixtures-1d.ipynb")
    assert one == two
    first, second, third = (cell["outputs"] for cell in one["cells"])
    assert [(o["name"], "".join(o["text"])) for o in first] == [
        ("stdout", "a = 1\nb = 2\nc"),
        ("stderr", "careful\n"),
        ("stdout", " = 3\n"),
    ]
    assert first[0]["text"] == ["a = 1\n", "b = 2\n", "c"]  # one line per item, as nbformat
    new = re.findall(r"_anim_img([0-9a-f]{32})", "".join(second[0]["data"]["text/html"]))[0]
    assert new != "ab" * 16 and "".join(second[0]["data"]["text/html"]).count(new) == 2
    other = re.search(r"_anim_img([0-9a-f]{32})", third[0]["data"]["text/html"]).group(1)
    assert other not in (new, "cd" * 16)


def test_stored_lessons_have_tidy_outputs():
    # `make execute` runs tools/tidy_outputs.py; a lesson executed some other way would
    # carry random ids, and the next `make execute` would rewrite them all
    tool = _tidy_outputs()
    for path in sorted((ROOT / "notebooks").rglob("[0-9]*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        before = json.dumps(notebook, sort_keys=True)
        after = json.dumps(tool.tidy(notebook, path.name), sort_keys=True)
        assert after == before, f"run: python tools/tidy_outputs.py {path.relative_to(ROOT)}"


def test_the_wheel_for_students_holds_the_package_and_no_solutions(tmp_path):
    # `make wheel` (README, Teaching with EM Lab): what instructors hand to students
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the repository
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "_build", "build", "dist", "student", "autograder", "artifacts", "feedback"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
    )
    # the distribution is emlab-course ("emlab" on PyPI is an unrelated project); it imports
    # as emlab, every subpackage included
    (wheel,) = (tmp_path / "dist").glob("emlab_course-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "emlab/checks/__init__.py" in names and "emlab/data/old_faithful.csv" in names
    packages = {path.parent for path in (ROOT / "emlab").rglob("__init__.py")}
    for package in packages:
        assert f"{package.relative_to(ROOT).as_posix()}/__init__.py" in names, package
    assert not [name for name in names if name.endswith(".ipynb") or "notebooks/" in name]
