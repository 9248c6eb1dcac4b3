"""Local plugins (`--plugin MODULE|FILE.py`): what a spec names, and importing it.

A spec is a path to a `.py` file or an importable module name. A file inside a package
(its folder has an `__init__.py`, as `src/cxplan_x/__init__.py` has) is imported under
its package's dotted name, from the folder above the package: it then *is* that module,
so it can stand in for the installed copy of the same plugin (`cxplan.plugins.manager`
replaces the installed one for the run), and its own lazy imports
(`from cxplan_x.model import ...`) find its own files. A stand-alone file is imported
under a private name (`cxplan_local_<stem>`), so that `json.py` or `test.py` clash with
nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class LocalPlugin:
    """What a `--plugin` spec names, found without importing anything."""

    spec: str  # as given on the command line
    name: str  # the plugin's name: the file's stem, a package's folder, or the module name
    module: str  # the dotted module name it is (a stand-alone file: its stem)
    path: Path | None = None  # the file, for a file spec
    root: Path | None = None  # the folder its package is imported from (None: stand-alone)

    @property
    def is_file(self) -> bool:
        return self.path is not None


def local_plugin(spec: str) -> LocalPlugin:
    """The plugin a `--plugin` spec names (a path to a `.py` file, or a module name)."""
    path = Path(spec)
    if not (spec.endswith(".py") or os.sep in spec or path.is_file()):
        return LocalPlugin(spec, spec, spec)
    # a package's __init__.py is named after its folder
    name = path.parent.name if path.stem == "__init__" else path.stem
    if not path.is_file():
        return LocalPlugin(spec, name, name, path)
    resolved = path.resolve()
    parts = [resolved.parent.name] if resolved.stem == "__init__" else [resolved.stem]
    folder = resolved.parent.parent if resolved.stem == "__init__" else resolved.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    in_package = resolved.stem == "__init__" or len(parts) > 1
    return LocalPlugin(spec, name, ".".join(parts), resolved,
                       folder if in_package else None)


def import_local(plugin: LocalPlugin) -> ModuleType:
    """Import a local plugin: a file (see the module's docstring) or a module name, which
    is looked up in the current folder first, as `python -m` would."""
    if plugin.path is None:
        return _import_with_path(plugin.module, Path.cwd())
    if not plugin.path.is_file():
        raise FileNotFoundError(f"no such plugin file: {plugin.spec}")
    if plugin.root is not None:
        top = plugin.module.split(".")[0]
        loaded = sys.modules.get(top)
        if loaded is not None and not _inside(loaded, plugin.root / top):
            raise ImportError(f"{plugin.spec} is part of the package '{top}', but a package "
                              f"of that name is already imported from "
                              f"{_location(loaded)}")
        return _import_with_path(plugin.module, plugin.root)
    return _import_file(plugin.path, f"cxplan_local_{plugin.name}")


def _import_with_path(dotted: str, folder: Path) -> ModuleType:
    """Import `dotted` with `folder` first on the module search path, for the import only
    (the module's later imports of its own submodules go through its package)."""
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        return importlib.import_module(dotted)
    finally:
        if added:
            sys.path.remove(entry)


def _import_file(path: Path, module_name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return module


def _inside(module: ModuleType, folder: Path) -> bool:
    """Whether an imported package comes from `folder`."""
    locations = [*getattr(module, "__path__", []), getattr(module, "__file__", None) or ""]
    return any(location and Path(location).resolve() in (folder, folder / "__init__.py")
               for location in locations)


def _location(module: ModuleType) -> str:
    return str(getattr(module, "__file__", None) or list(getattr(module, "__path__", [])))
