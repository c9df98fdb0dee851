"""The project's own promises: one dependency list, lint-clean code, clean notebooks, true README."""

import json
import re
import shutil
import subprocess
import sys
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
    targets = [t for t in ("emlab", "tests", "notebooks") if (ROOT / t).exists()]
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
        for path in sorted((ROOT / "notebooks").glob("*.ipynb"))
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
