"""The house: layers as folders, imports only downward, no import cycle anywhere.

The layers contract itself lives in pyproject.toml (`[tool.importlinter]`) and `make lint`
runs it; these tests check what it does not (cycles inside a layer, imports inside
functions), and that the contract really fails when a lower layer reaches up.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "cxplan"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_no_module_imports_another_in_a_circle() -> None:
    """Every import counts: at the top, under TYPE_CHECKING and inside functions."""
    graph = grimp.build_graph("cxplan", cache_dir=None)
    imports = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            imports.add_edge(module, imported)
    cycles = sorted(sorted(c) for c in nx.simple_cycles(imports))
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _imports_in_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cxplan"):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                found += [f"line {node.lineno}: import {a.name}" for a in node.names
                          if a.name.startswith("cxplan")]
    return found


def test_only_the_command_line_imports_cxplan_modules_inside_functions() -> None:
    """Inside the library every dependency is visible at the top of its module; the
    command line imports lazily so that `cxplan --help` answers at once. (Third-party
    libraries may still be imported where they are first needed, for the same reason.)"""
    found = {name: hits for name, path in _modules()
             if not name.startswith("cxplan.cli") and (hits := _imports_in_functions(path))}
    assert found == {}


def test_nothing_inside_imports_the_package_root() -> None:
    """`cxplan/__init__.py` is the public face at the top: modules below it would import
    every layer through it."""
    offenders = []
    for name, path in _modules():
        if name == "cxplan":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if ((isinstance(node, ast.ImportFrom) and node.module == "cxplan")
                    or (isinstance(node, ast.Import) and any(a.name == "cxplan"
                                                            for a in node.names))):
                offenders.append(f"{name}: line {node.lineno}")
    assert offenders == []


def _lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip(f"import-linter is not installed ({LINT_IMPORTS}); `make` installs it")
    env = {"PYTHONPATH": str(source_root), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"),
                           "--no-cache"], capture_output=True, text=True, env=env,
                          cwd=source_root, timeout=300)


def test_the_layers_contract_holds() -> None:
    result = _lint_imports(SOURCE.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_contract_fails_when_a_lower_layer_imports_a_higher_one(
        tmp_path: Path) -> None:
    """A scenario model that reaches up to the optimizer breaks the contract."""
    copy = tmp_path / "src"
    shutil.copytree(SOURCE, copy / "cxplan", ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "cxplan" / "scenario" / "models.py"
    text = models.read_text(encoding="utf-8")
    models.write_text(text.replace("from cxplan.errors import Problem",
                                   "from cxplan.errors import Problem\n"
                                   "from cxplan.optimizer import model as _reaching_up", 1),
                      encoding="utf-8")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "cxplan.scenario.models -> cxplan.optimizer.model" in result.stdout


def test_the_contract_places_every_module_in_a_layer(tmp_path: Path) -> None:
    """A new module at the top of the package must be given its layer (the contract is
    exhaustive)."""
    copy = tmp_path / "src"
    shutil.copytree(SOURCE, copy / "cxplan", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "cxplan" / "stray.py").write_text('"""Belongs nowhere."""\n', encoding="utf-8")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "cxplan.stray" in result.stdout


def test_the_public_api_names_each_object_at_its_home() -> None:
    """`cxplan.__all__` is served lazily from the module that defines each name, not
    through a module that merely imports it."""
    import importlib

    import cxplan

    for name, module in cxplan._EXPORTS.items():
        value = getattr(importlib.import_module(module), name)
        home = getattr(value, "__module__", None)
        if home is not None and name != "hookimpl":  # a pluggy marker instance
            assert home == module, f"cxplan.{name} is defined in {home}, not {module}"
        assert getattr(cxplan, name) is value
