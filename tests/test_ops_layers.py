"""Layers point one way: what ops, core and the method families may import (static check)."""

from __future__ import annotations

import ast
from pathlib import Path

import vidxai

ROOT = Path(vidxai.__file__).parent


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(path: Path) -> set[str]:
    """Modules named by import statements anywhere in the file (function level too); imports
    under ``if TYPE_CHECKING:`` are annotations only and are not counted."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)
    }
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _vidxai_imports(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, package
    return {
        str(f.relative_to(ROOT)): {m for m in _imports(f) if m.startswith("vidxai")} for f in files
    }


def test_ops_depends_only_on_torch_numpy_and_errors():
    for name, mods in _vidxai_imports("ops").items():
        bad = {m for m in mods if m != "vidxai.errors" and not m.startswith("vidxai.ops")}
        assert not bad, f"{name} imports {bad}"
    third_party = set().union(*(_imports(f) for f in (ROOT / "ops").rglob("*.py")))
    outside = {m.split(".")[0] for m in third_party} - {"vidxai", "torch", "numpy", "__future__"}
    assert outside <= {"collections", "dataclasses", "typing"}


def test_core_imports_nothing_above_it():
    allowed = ("vidxai.core", "vidxai.errors", "vidxai.ops")
    for name, mods in _vidxai_imports("core").items():
        bad = {m for m in mods if not m.startswith(allowed)}
        assert not bad, f"{name} imports {bad}"


def test_methods_never_import_the_api_and_families_not_each_others_internals():
    families = ("gradient", "cam", "removal", "extremal", "metrics")
    for family in families:
        for name, mods in _vidxai_imports(family).items():
            assert "vidxai.api" not in mods, name
            others = {
                m for m in mods for f in families if f != family and m.startswith(f"vidxai.{f}")
            }
            if family == "metrics":  # the games use the removal stage's SLIC segmenter
                others -= {"vidxai.removal.segment.slic"}
            assert not others, f"{name} imports {others}"
