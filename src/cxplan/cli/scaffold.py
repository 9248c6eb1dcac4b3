"""`cxplan new-plugin NAME`: write a plugin package to start from (`cxplan.scaffold`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxplan.cli.common import app, run, stdout_console


@app.command("new-plugin")
def new_plugin_command(
    name: Annotated[str, typer.Argument(
        help="The plugin's name (its entry point; the package is cxplan-NAME).",
        show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="The folder to create cxplan-NAME/ in.")] = Path("."),
) -> None:
    """Create a plugin package: entry point, a criterion with its scenario section, tests
    with cxplan.testing, an example scenario (docs/plugins.md)."""

    def body() -> None:
        from cxplan.scaffold import new_plugin

        folder = new_plugin(name, output)
        stdout_console().print(
            f"wrote {folder}\nnext:\n  cd {folder}\n  pip install -e '.[test]'\n"
            "  python -m pytest\n  cxplan plan example.yaml", markup=False, highlight=False)

    run(body)
