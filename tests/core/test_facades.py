"""The package facades: one surface said three ways (``__all__``, the imports mypy and
import-linter read, the homes imported at run time) that must agree, and lazy in fact."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACADES = sorted(
    path.parent.relative_to(ROOT).as_posix().replace("/", ".")
    for path in (ROOT / "core").glob("*/__init__.py")
    if "lazy_exports(" in path.read_text()
)


def _declared(package: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """``__all__``, the TYPE_CHECKING imports and the lazy homes, each as name → module:attr."""
    tree = ast.parse((ROOT / package.replace(".", "/") / "__init__.py").read_text())
    exported: list[str] = []
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "__all__":
            exported = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                for alias in imp.names:
                    typed[alias.asname or alias.name] = f"{imp.module}:{alias.name}"
            (assign,) = node.orelse
            assert isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Call)
            homes = ast.literal_eval(assign.value.args[1])
            for module, names in homes.items():
                for export in names:
                    name, _, attribute = export.rpartition("=")
                    lazy[name or attribute] = f"{package}.{module}:{attribute}"
    return exported, typed, lazy


def test_every_facade_is_found() -> None:
    assert {"core.connections", "core.ipsec", "core.sampling", "core.commands"} <= set(FACADES)


@pytest.mark.parametrize("package", FACADES)
def test_the_three_lists_agree(package: str) -> None:
    exported, typed, lazy = _declared(package)
    assert len(exported) == len(set(exported))
    assert set(exported) == set(typed) == set(lazy)
    assert typed == lazy
    submodules = {m.name for m in pkgutil.iter_modules([str(ROOT / package.replace(".", "/"))])}
    assert not submodules & set(exported), "a name that is also a submodule's is ambiguous"


@pytest.mark.parametrize("package", FACADES)
def test_each_name_is_its_home_object(package: str) -> None:
    facade = importlib.import_module(package)
    _, _, lazy = _declared(package)
    for name, home in lazy.items():
        module, attribute = home.split(":")
        assert getattr(facade, name) is getattr(importlib.import_module(module), attribute)
    with pytest.raises(AttributeError, match="no attribute 'not_exported'"):
        _ = facade.not_exported


@pytest.mark.parametrize("package", FACADES)
def test_importing_a_facade_imports_none_of_its_modules(package: str) -> None:
    """What keeps the one-shot path light: a facade costs nothing until a name is used."""
    code = (
        f"import sys, {package}; "
        f"print(sorted(m for m in sys.modules if m.startswith('{package}.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_name_loads_only_its_own_module() -> None:
    code = (
        "import sys; from core.connections import Snapshot; "
        "print('core.connections.row_index' in sys.modules, "
        "'core.connections.snapshot' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["False", "True"]
