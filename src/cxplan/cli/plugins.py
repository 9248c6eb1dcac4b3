"""`cxplan plugins`, the options every command takes, and plugins' own commands.

`--plugin`, `--disable-plugin` and `--allow-path` are read from the whole command line
before Typer parses it (`prepare_plugins`), because plugins may add subcommands: the
plugin manager must exist before the command name is looked up. They may so be written
before or after the subcommand.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from cxplan.cli.common import (
    JsonOpt,
    allow_paths,
    app,
    emit,
    run,
    stderr_console,
    stdout_console,
)

if TYPE_CHECKING:
    from cxplan.plugins.manager import PluginInfo

PLUGIN_OPTION = "--plugin"
DISABLE_OPTION = "--disable-plugin"
ALLOW_OPTION = "--allow-path"
GLOBAL_OPTIONS = (PLUGIN_OPTION, DISABLE_OPTION, ALLOW_OPTION)
# Commands that must work even when an installed plugin is broken (to find and fix it).
_DIAGNOSTIC = {"plugins"}


def split_global_options(args: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """({option: values}, remaining args) for the options every command takes (`--plugin`,
    `--disable-plugin`, `--allow-path`): `--option X` or `--option=X`, anywhere before a
    `--`."""
    found: dict[str, list[str]] = {option: [] for option in GLOBAL_OPTIONS}
    rest: list[str] = []
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--":
            rest.extend(items[i:])
            break
        for option, values in found.items():
            if arg == option and i + 1 < len(items):
                values.append(items[i + 1])
                i += 2
                break
            if arg.startswith(option + "="):
                values.append(arg.split("=", 1)[1])
                i += 1
                break
        else:
            rest.append(arg)
            i += 1
    return found, rest


def prepare_plugins(application: typer.Typer, args: Sequence[str]) -> list[str]:
    """Configure the plugin manager from the command line and add plugins' commands.

    Returns the arguments left for Typer. A plugin that fails stops the run with exit
    code 4 (2 for an unknown `--disable-plugin` name), except for `--help`, `--version`
    and `cxplan plugins`, which warn and go on so that the problem can be looked into.
    """
    from cxplan.errors import CxplanError
    from cxplan.plugins.manager import configure, get_plugin_manager

    found, rest = split_global_options(args)
    configure(found[PLUGIN_OPTION], found[DISABLE_OPTION])
    allow_paths(found[ALLOW_OPTION])
    try:
        get_plugin_manager().add_cli_commands(application)
    except CxplanError as exc:
        command = next((a for a in rest if not a.startswith("-")), None)
        if command is None or command in _DIAGNOSTIC or {"--help", "--version"} & set(rest):
            stderr_console().print(f"warning: {exc}", markup=False)
        else:
            stderr_console().print(f"error: {exc}", markup=False)
            sys.exit(exc.exit_code)
    return rest


@app.command("plugins")
def plugins_command(as_json: JsonOpt = False) -> None:
    """List installed plugins: version, where each comes from, its hooks and criteria."""

    def body() -> None:
        from cxplan.plugins.manager import inspecting_manager

        # Not the shared manager: a broken plugin is listed with its error, not raised.
        manager = inspecting_manager()
        infos = manager.info()
        if as_json:
            emit(json.dumps([_info_dict(i) for i in infos]) + "\n")
        else:
            _print_infos(infos)
        if any(i.error for i in infos):
            raise typer.Exit(4)

    run(body, machine=as_json)


def _info_dict(info: PluginInfo) -> dict[str, Any]:
    return {"name": info.name, "version": info.version, "source": info.source,
            "hooks": list(info.hooks), "criteria": list(info.criteria),
            "sections": list(info.sections), "error": info.error}


def _print_infos(infos: list[PluginInfo]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    table.add_column("plugin", no_wrap=True)
    for column in ("version", "source", "hooks", "provides"):
        table.add_column(column)
    for info in infos:
        provides = [f"criteria: {', '.join(info.criteria)}"] if info.criteria else []
        if info.sections:
            provides.append(f"extensions: {', '.join(info.sections)}")
        hooks = ", ".join(h.removeprefix("cxplan_") for h in info.hooks)
        table.add_row(escape(info.name), escape(info.version or "-"), escape(info.source),
                      escape(hooks if not info.error else "FAILED"),
                      escape("; ".join(provides) if not info.error else info.error))
    stdout_console().print(table)
