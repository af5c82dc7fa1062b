"""The package's shape rules (docs/architecture.md), checked on the source's AST.

- no function longer than 80 lines, no module longer than 500 lines;
- packages import each other only through their ``__init__``: no import of another
  package's private module (``metaopt.kb._store`` from outside ``metaopt.kb``);
- the layers only import downwards at module level.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "metaopt"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500
#: bottom to top; a module may import (at module level) only from its own layer or below
LAYERS = ["exceptions", "core", "utils", "data", "features", "learners", "kb", "metamodel",
          "recommender", "warmstart", "tuning", "estimators", "cli"]


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(dotted: str) -> str:
    """``metaopt.kb._store`` -> ``metaopt.kb``; root modules (``metaopt._recommend``) -> ``metaopt``."""
    parts = dotted.split(".")
    if len(parts) > 1 and (PKG / parts[1]).is_dir():
        return ".".join(parts[:2])
    return "metaopt"


def _reaches_private(dotted: str) -> bool:
    """Whether ``dotted`` names a private module (or a private name) below its package."""
    parts = dotted.split(".")
    start = 2 if _package_of(dotted) != "metaopt" else 1
    return any(p.startswith("_") and not p.startswith("__") for p in parts[start:])


def _imports(tree: ast.AST, here: str, is_init: bool) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every metaopt import, relative ones resolved."""
    top_level = {id(n) for n in getattr(tree, "body", [])}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor if is_init else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]
            out += [(n, node.lineno, id(node) in top_level) for n in [base] + names]
    return [(m, line, top) for m, line, top in out if m == "metaopt" or m.startswith("metaopt.")]


def test_no_function_longer_than_80_lines():
    long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PKG.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)


def test_no_module_longer_than_500_lines():
    long = [f"{p.relative_to(PKG.parent)} ({n} lines)" for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long, "modules over 500 lines:\n" + "\n".join(long)


def test_no_import_of_another_packages_private_module():
    bad = []
    for path in _modules():
        here = _dotted(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for mod, line, _ in _imports(tree, here, path.name == "__init__.py"):
            if _reaches_private(mod) and _package_of(mod) != _package_of(here):
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {mod}")
    assert not bad, "imports of another package's private module:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_module_level_imports_point_downwards(path):
    here = _dotted(path)
    layer = here.split(".")[1] if "." in here else None
    if layer not in LAYERS:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    up = [f"line {line}: {mod}" for mod, line, top in _imports(tree, here, path.name == "__init__.py")
          if top and len(mod.split(".")) > 1 and mod.split(".")[1] in LAYERS
          and LAYERS.index(mod.split(".")[1]) > LAYERS.index(layer)]
    assert not up, f"{here} imports upwards at module level: {up}"
