"""`cxplan new-plugin NAME`: a plugin package to start from, that installs and passes its tests.

The package (`cxplan-NAME/`) has a pyproject with the `cxplan` entry point, hooks that
import the rest when called (fast `--help`), a criterion that needs its scenario section,
the section's pydantic model, tests written with `cxplan.testing`, an example scenario
and a README. The files are templates in `template/` (`string.Template`, `$name`...).

The folder appears whole or not at all: it is written beside its place under a temporary
name and renamed into place; an existing folder is never written over.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from cxplan.errors import OutputError, UsageError
from cxplan.files import check_output_folder
from cxplan.version import PLUGIN_API_VERSION, __version__

NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
SUFFIX = ".tmpl"
PACKAGE_FOLDER = "package"  # template/src/package/ becomes src/cxplan_<name>/


@dataclass(frozen=True)
class PluginNames:
    """Every name the template needs, derived from the plugin's name."""

    name: str  # the entry-point name: "regulatory"

    @property
    def package(self) -> str:
        return "cxplan_" + self.name.replace("-", "_")

    @property
    def dist(self) -> str:
        return "cxplan-" + self.name.replace("_", "-")

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in re.split(r"[-_]", self.name))

    def values(self) -> dict[str, str]:
        section = self.name.replace("-", "_")
        major = int(PLUGIN_API_VERSION.split(".")[0])
        return {
            "name": self.name, "package": self.package, "dist": self.dist,
            "section": section, "criterion": f"{section}_weighted_failures",
            "criterion_class": f"{self.camel}WeightedFailures",
            "model": f"{self.camel}Section", "title": f"{self.name} weighted failures",
            "cxplan_version": __version__, "api_major": str(major),
            "api_next": str(major + 1),
        }


def check_name(name: str) -> PluginNames:
    """The names of plugin `name`; a name that cannot be a package is a UsageError."""
    if not NAME.match(name):
        raise UsageError(f"new-plugin: {name!r} cannot name a plugin; use lowercase letters, "
                         "digits and single - or _ between them, starting with a letter "
                         "(for example: regulatory, owner-caps)")
    if name.startswith("cxplan"):
        raise UsageError(f"new-plugin: give the name without 'cxplan' ({name!r} would make "
                         f"the package cxplan-{name}); for example: "
                         f"{name.removeprefix('cxplan').strip('-_') or 'regulatory'}")
    return PluginNames(name)


def render(names: PluginNames) -> dict[Path, str]:
    """The package's files: relative path -> text."""
    values = names.values()
    rendered: dict[Path, str] = {}

    def walk(folder: Traversable, relative: Path) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                if entry.name != "__pycache__":
                    target = names.package if entry.name == PACKAGE_FOLDER else entry.name
                    walk(entry, relative / target)
            elif entry.name.endswith(SUFFIX):
                stem = entry.name.removesuffix(SUFFIX)
                if stem == "test_plugin.py":
                    stem = f"test_{values['section']}.py"
                text = Template(entry.read_text(encoding="utf-8")).substitute(values)
                rendered[relative / stem] = text

    walk(files("cxplan.scaffold") / "template", Path())
    return rendered


def new_plugin(name: str, output: Path) -> Path:
    """Write the package of plugin `name` as `output/cxplan-<name>`; returns that folder.

    Raises UsageError for a bad name or an existing folder, OutputError when the folder
    cannot be written (nothing is left behind)."""
    names = check_name(name)
    check_output_folder(output)
    target = output / names.dist
    if target.exists() or target.is_symlink():
        raise UsageError(f"new-plugin: {target} already exists; choose another --output "
                         "folder or remove it")
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{names.dist}.", dir=output))
    except OSError as exc:
        raise OutputError(output, exc.strerror or str(exc)) from None
    try:
        for relative, text in render(names).items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())
        os.rename(staging, target)  # atomic; refused if the target appeared meanwhile
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(target, exc.strerror or str(exc)) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
