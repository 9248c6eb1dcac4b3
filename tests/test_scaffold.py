"""`cxplan new-plugin`: the package it writes installs, and its tests pass as generated.

The package is installed as a user would (`pip install -e`), but into a virtual
environment of the test's own that sees this one's packages (a `.pth` file), so that
cxplan's environment never gains the plugin.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import CliRun


def _environment(folder: Path) -> Path:
    """A virtual environment that sees this one's packages: its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    inner = subprocess.run([str(python), "-c", "import sysconfig; "
                            "print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(inner, "cxplan_outer.pth").write_text(f"import site; site.addsitedir({outer!r})\n",
                                               encoding="utf-8")
    return python


def test_a_generated_plugin_installs_and_its_tests_pass(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    done = run_main("new-plugin", "regulatory", "--output", tmp_path)
    assert done.exit_code == 0, done.stderr
    package = tmp_path / "cxplan-regulatory"
    assert f"wrote {package}" in done.stdout
    python = _environment(tmp_path / "venv")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-build-isolation", "--no-index", "-e", str(package)],
        capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr
    listed = subprocess.run([str(python), "-m", "cxplan", "plugins", "--json"],
                            capture_output=True, text=True, check=False)
    assert '"name": "regulatory"' in listed.stdout, listed.stderr
    tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=package, capture_output=True, text=True, check=False)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "5 passed" in tests.stdout
    # the hooks import nothing heavy: --help stays fast with the plugin installed
    script = ("import sys\nsys.argv = ['cxplan', '--help']\nfrom cxplan.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print('LOADED', [m for m in ('pulp', 'pydantic', 'numpy') if m in sys.modules])")
    help_run = subprocess.run([str(python), "-c", script], capture_output=True, text=True,
                              check=True)
    assert help_run.stdout.strip().endswith("LOADED []"), help_run.stdout


@pytest.mark.parametrize(("name", "message"), [
    ("Bad.Name", "'Bad.Name' cannot name a plugin"),
    ("cxplan-caps", "give the name without 'cxplan'"),
])
def test_a_name_that_cannot_be_a_package_is_refused(
        run_main: Callable[..., CliRun], tmp_path: Path, name: str, message: str) -> None:
    done = run_main("new-plugin", name, "--output", tmp_path)
    assert done.exit_code == 2 and message in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_written_over(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    mine = tmp_path / "cxplan-caps" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("mine", encoding="utf-8")
    done = run_main("new-plugin", "caps", "--output", tmp_path)
    assert done.exit_code == 2 and "already exists" in done.stderr
    assert [p.name for p in mine.parent.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cxplan-caps"]  # no staging left
