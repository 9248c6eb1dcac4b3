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
    plugin_command,
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
    code 4, except for `--help`, `--version` and `cxplan plugins`, which warn and go on so
    that the problem can be looked into. What loading noticed (a local plugin standing in
    for its installed copy, a `--disable-plugin` name that matches nothing) is said on
    standard error.
    """
    from cxplan.errors import CxplanError
    from cxplan.plugins.manager import configure, get_plugin_manager, overridden

    found, rest = split_global_options(args)
    if overridden() and (found[PLUGIN_OPTION] or found[DISABLE_OPTION]):
        stderr_console().print(
            "error: this run uses a plugin manager set up in Python (cxplan.testing); "
            "--plugin and --disable-plugin cannot change it: register the plugins there",
            markup=False)
        sys.exit(2)
    if not overridden():
        configure(found[PLUGIN_OPTION], found[DISABLE_OPTION])
    allow_paths(found[ALLOW_OPTION])
    err = stderr_console()
    try:
        manager = get_plugin_manager()
        for note in manager.notes:
            err.print(f"note: {note}", markup=False)
        for warning in manager.warnings:
            err.print(f"warning: {warning}", markup=False)
        manager.add_cli_commands(application, wrap=plugin_command)
    except CxplanError as exc:
        command = next((a for a in rest if not a.startswith("-")), None)
        if command is None or command in _DIAGNOSTIC or {"--help", "--version"} & set(rest):
            err.print(f"warning: {exc}", markup=False)
        else:
            err.print(f"error: {exc}", markup=False)
            sys.exit(exc.exit_code)
    return rest


@app.command("plugins")
def plugins_command(as_json: JsonOpt = False) -> None:
    """List the plugins: version, source, hooks, and the criteria, scenario sections,
    commands, constraints and report sections each provides; disabled ones marked."""

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
    from cxplan.version import PLUGIN_API_VERSION

    return {"name": info.name, "version": info.version, "source": info.source,
            "hooks": list(info.hooks), "criteria": list(info.criteria),
            "sections": list(info.sections), "error": info.error,
            "commands": list(info.commands), "constraints": info.constraints,
            "report_sections": info.report_sections,
            "requires_sections": list(info.requires_sections),
            "disabled": info.disabled, "supports_api": info.supports_api,
            "api_version": PLUGIN_API_VERSION}


def _print_infos(infos: list[PluginInfo]) -> None:
    """One block per plugin: name, version and source, then its hooks and what it provides
    (a block, not a table: what a plugin provides does not fit a column)."""
    from cxplan.version import PLUGIN_API_VERSION, __version__

    out = stdout_console()
    lines = [f"cxplan {__version__}, plugin API {PLUGIN_API_VERSION}"]
    for info in infos:
        lines.append("")
        state = " — FAILED" if info.error else " — disabled" if info.disabled else ""
        lines.append(f"{info.name} {info.version or '-'} ({info.source}){state}")
        if info.error:
            lines.append(f"    error: {info.error}")
        elif info.disabled:
            lines.append("    not loaded (--disable-plugin)")
        else:
            lines.append("    hooks: " + ", ".join(h.removeprefix("cxplan_") for h in info.hooks))
            lines += [f"    {item}" for item in _provides(info)]
    for line in lines:
        out.print(line, markup=False, highlight=False)


def _provides(info: PluginInfo) -> list[str]:
    """What a plugin adds, one line each (constraints and report sections depend on the
    scenario and the plan, so they are named as kinds)."""
    provides = [f"criteria: {', '.join(info.criteria)}"] if info.criteria else []
    if info.sections:
        provides.append(f"scenario sections: {', '.join(info.sections)}")
    if info.commands:
        provides.append(f"commands: {', '.join(info.commands)}")
    kinds = [kind for kind, has in (("constraints", info.constraints),
                                    ("report sections", info.report_sections)) if has]
    if kinds:
        provides.append(f"adds: {', '.join(kinds)}")
    if info.requires_sections:
        provides.append("needs: " + ", ".join(f"extensions.{s}" for s in info.requires_sections))
    if info.supports_api:
        provides.append(f"supports plugin API {info.supports_api}")
    return provides
