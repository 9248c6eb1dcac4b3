"""`cxplan export`, `cxplan import` and `cxplan init`: the consultant's workbench, where a
scenario goes to Excel and back, and a new client starts from a commented template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxplan.cli.common import ScenarioArg, app, check_outputs, load, run, stderr_console


@app.command("export")
def export(
    scenario: ScenarioArg,
    xlsx: Annotated[Path, typer.Option(
        "--xlsx", help="The workbook to write (.xlsx).", show_default=False)],
) -> None:
    """Write a scenario as an Excel workbook a client can fill in."""

    def body() -> None:
        from cxplan.errors import UsageError
        from cxplan.scenario.workbook import export_workbook

        if xlsx.suffix.lower() != ".xlsx":
            raise UsageError(f"--xlsx {xlsx}: the workbook's name must end in .xlsx")
        loaded = load(scenario)
        check_outputs(files=[xlsx])
        export_workbook(loaded, xlsx)
        stderr_console().print(f"wrote {xlsx}", markup=False)

    run(body)


@app.command("import")
def import_(
    workbook: Annotated[Path, typer.Argument(help="A scenario workbook (.xlsx).",
                                             show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="The YAML scenario to write.", show_default=False)],
) -> None:
    """Read a scenario workbook, check it in full, and write it as a YAML scenario."""

    def body() -> None:
        from cxplan.errors import UsageError
        from cxplan.files import write_atomic
        from cxplan.scenario.reader import is_workbook, read_scenario_file
        from cxplan.scenario.workbook import scenario_yaml

        if not is_workbook(workbook):
            raise UsageError(f"{workbook}: give an Excel workbook (.xlsx)")
        check_outputs(files=[output])
        load(workbook)  # every problem, at its cell, before anything is written
        data = read_scenario_file(workbook).data
        write_atomic({output: scenario_yaml(data, str(workbook))})
        stderr_console().print(f"wrote {output}", markup=False)

    run(body)


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(help="The folder to start in (created if "
                                                "missing).", show_default=False)],
    example: Annotated[str, typer.Option(
        "--example", help="Which starter: online-shop or roadmap.")] = "online-shop",
) -> None:
    """Start a new client's scenario: a commented YAML file and the same as a workbook."""

    def body() -> None:
        from cxplan.starters import init_folder

        written = init_folder(folder, example)
        err = stderr_console()
        for path in written:
            err.print(f"wrote {path}", markup=False)
        err.print(f"next: edit {written[-2].name} (or have the client fill in "
                  f"{written[-1].name}), then: cxplan plan {written[-2]}", markup=False)

    run(body)
