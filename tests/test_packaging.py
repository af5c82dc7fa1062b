"""Every third-party module the package and the tests import is declared in ``pyproject.toml``.

A fresh virtualenv installs only what is declared; a module that is present on a developer's
machine by accident (matplotlib once was) must fail here rather than on a user's first run.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0].strip().lower().replace("_", "-") for s in specs}


def _imported_top_modules(folder: Path) -> set[str]:
    local = {p.stem for p in folder.rglob("*.py")} | {"metaopt"}
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in local}


def _distribution_names(modules: set[str]) -> dict[str, set[str]]:
    table = packages_distributions()
    return {m: {d.lower().replace("_", "-") for d in table.get(m, [])} for m in modules}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_test_imports_are_declared_in_core_or_test_extra():
    project = _project()
    declared = _requirement_names(project["dependencies"] + project["optional-dependencies"]["test"])
    missing = {m: d for m, d in _distribution_names(_imported_top_modules(ROOT / "tests")).items()
               if not d & declared}
    assert not missing, f"imported by tests/ but not in dependencies or the test extra: {missing}"


def test_package_imports_are_declared():
    project = _project()
    extras = [s for specs in project["optional-dependencies"].values() for s in specs]
    declared = _requirement_names(project["dependencies"] + extras)
    missing = {m: d for m, d in _distribution_names(_imported_top_modules(ROOT / "metaopt")).items()
               if not d & declared}
    assert not missing, f"imported by metaopt/ but declared nowhere in pyproject.toml: {missing}"


def test_ci_runs_the_readme_commands_in_a_fresh_virtualenv():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r'^pip install -e "\.\[test\]" && python -m pytest', readme, re.M)
    assert "python3 -m venv" in ci and "README.md" in ci
