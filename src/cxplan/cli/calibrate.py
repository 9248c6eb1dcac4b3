"""Calibration and importance: `calibrate log|paths|survey` (data files → scenario
fragments, cxplan.calibrate) and `importance` (removal effects, cxplan.core.importance)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxplan.cli.common import (
    JsonOpt,
    ScenarioArg,
    app,
    check_outputs,
    emit,
    load,
    run,
    stderr_console,
    stdout_console,
)

if TYPE_CHECKING:
    from cxplan.calibrate import Calibration

calibrate_app = typer.Typer(
    name="calibrate", no_args_is_help=True, rich_markup_mode=None,
    help="Turn the data you have (event logs, customer paths, surveys) into a scenario "
    "fragment whose numbers are the observed frequencies, each with its counts "
    "(docs/calibration.md).")
app.add_typer(calibrate_app)

OutputOpt = Annotated[Path | None, typer.Option(
    "-o", "--output", help="Write the fragment to this file (default: standard output).")]
UncertaintyOpt = Annotated[bool, typer.Option(
    "--uncertainty", help="Write the distributions the counts imply (beta, Dirichlet) "
    "instead of plain frequencies; their means are the same.")]
DelimiterOpt = Annotated[str | None, typer.Option(
    "--delimiter", help="The CSV delimiter (default: the one the header line uses most "
    "among , ; tab |).")]
MergeOpt = Annotated[bool, typer.Option(
    "--merge-repeats", help="Count a touchpoint repeated right after itself as one visit "
    "(default: kept, as a loop; completion probabilities are the same either way).")]


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on the terminal while a large file is read (none when piped)."""
    err = stderr_console()
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress("reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("read", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _calibrate(output: Path | None, as_json: bool,
               make: Callable[[Callable[[int, int], None] | None], Calibration]) -> None:
    """Check the output, make the fragment (with a progress bar), write or print it."""
    if output is not None:
        check_outputs(files=[output])
    with _progress(not as_json) as progress:
        result = make(progress)
    _finish(result, output, as_json)


def _finish(result: Calibration, output: Path | None, as_json: bool) -> None:
    err = stderr_console()
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    text = result.yaml()
    if output is not None:
        from cxplan.files import write_atomic

        write_atomic({output: text})
        err.print(f"wrote {output}", markup=False)
    elif not as_json:
        sys.stdout.write(text)
    if as_json:
        emit(json.dumps(result.summary(), allow_nan=False) + "\n")


@calibrate_app.command("log")
def calibrate_log_command(
    file: Annotated[Path, typer.Argument(help="The event log: CSV (any delimiter) or XES.",
                                         show_default=False)],
    output: OutputOpt = None,
    case: Annotated[str, typer.Option("--case", help="The case id column.")]
    = "case:concept:name",
    activity: Annotated[str, typer.Option("--activity", help="The activity column.")]
    = "concept:name",
    timestamp: Annotated[str, typer.Option("--timestamp", help="The timestamp column.")]
    = "time:timestamp",
    lifecycle: Annotated[str | None, typer.Option(
        "--lifecycle", help="Keep only events of this transition type (e.g. complete).")]
    = None,
    lifecycle_column: Annotated[str, typer.Option(
        "--lifecycle-column", help="The lifecycle column.")] = "lifecycle:transition",
    mapping: Annotated[Path | None, typer.Option(
        "--map", help="MAPPING.yaml: activities -> touchpoints.")] = None,
    completed: Annotated[str | None, typer.Option(
        "--completed", help="Activities (or touchpoints) that complete a journey, A,B: "
        "cases ending elsewhere are abandoned at their last touchpoint.")] = None,
    failed: Annotated[str | None, typer.Option(
        "--failed", help="Activities that mark the touchpoint before them as failed, A,B "
        "(rework, a complaint).")] = None,
    failure_column: Annotated[str | None, typer.Option(
        "--failure-column", help="A yes/no column: this event's touchpoint failed.")] = None,
    persona_column: Annotated[str | None, typer.Option(
        "--persona-column", help="A case attribute: one persona per value.")] = None,
    merge_repeats: MergeOpt = False,
    delimiter: DelimiterOpt = None,
    uncertainty: UncertaintyOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Calibrate the journey from an event log (one event per row: case, activity,
    timestamp)."""

    def body() -> None:
        from cxplan.calibrate import LogOptions, calibrate_log, read_mapping

        options = LogOptions(
            case=case, activity=activity, timestamp=timestamp, lifecycle=lifecycle,
            lifecycle_column=lifecycle_column, completed=_names(completed),
            failed=_names(failed), failure_column=failure_column,
            persona_column=persona_column, merge_repeats=merge_repeats,
            mapping=read_mapping(mapping) if mapping is not None else None)
        _calibrate(output, as_json, lambda progress: calibrate_log(
            file, options, uncertainty=uncertainty, delimiter=delimiter, progress=progress,
            argv=sys.argv[2:]))

    run(body, machine=as_json)


@app.command()
def importance(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write an HTML page with the bar chart to this folder.")] = None,
    select: Annotated[str, typer.Option(
        "--select", help="Comma-separated improvements to apply first (default: none).")]
    = "",
) -> None:
    """Each touchpoint's removal effect (the share of completions lost without it), the
    completions attributed to it and the value lost, exactly (a scenario or a calibrated
    fragment)."""

    def body() -> None:
        from cxplan.core.importance import importance as run_importance
        from cxplan.core.journey import build_journey
        from cxplan.errors import UsageError

        loaded = load(scenario)
        check_outputs(report)
        chosen = _names(select)
        unknown = [i for i in chosen if i not in loaded.improvement_ids]
        if unknown:
            raise UsageError(f"--select: unknown improvement(s) {', '.join(unknown)}")
        result = run_importance(build_journey(loaded), chosen)
        written: list[Path] = []
        if report is not None:
            from cxplan.report.importance import write_importance

            written = write_importance(result, loaded.currency, report)
        if as_json:
            emit(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        else:
            _print_importance(result)
        for path in written:
            stderr_console().print(f"wrote {path}", markup=False)

    run(body, machine=as_json)


def _print_importance(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    out = stdout_console()
    out.print(escape(f"{result.scenario}: completion probability "
                     f"{result.completion_probability:.2%} "
                     f"({result.completions:,.1f} expected completions)"))
    table = Table("touchpoint", "reached", "removal effect", "attributed completions",
                  "value lost", box=None)
    for t in sorted(result.touchpoints, key=lambda t: -t.removal_effect):
        table.add_row(escape(t.name), f"{t.reach:.1%}", f"{t.removal_effect:.1%}",
                      f"{t.attributed_completions:,.1f}", f"{t.value_lost:,.0f}")
    out.print(table)


@calibrate_app.command("paths")
def calibrate_paths_command(
    file: Annotated[Path, typer.Argument(
        help="Aggregated paths (CSV): path;total_conversions;total_null.",
        show_default=False)],
    output: OutputOpt = None,
    path_column: Annotated[str, typer.Option("--path-column", help="The path column.")]
    = "path",
    conversions_column: Annotated[str, typer.Option(
        "--conversions-column", help="Journeys that converted (completed) after the path.")]
    = "total_conversions",
    nulls_column: Annotated[str, typer.Option(
        "--nulls-column", help="Journeys that ended after the path without converting.")]
    = "total_null",
    separator: Annotated[str, typer.Option(
        "--separator", help="Between the touchpoints of a path (spaces around them are "
        "trimmed).")] = " > ",
    merge_repeats: MergeOpt = False,
    delimiter: DelimiterOpt = None,
    uncertainty: UncertaintyOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Calibrate the journey from customer paths as marketing analytics export them
    (ChannelAttribution's format)."""

    def body() -> None:
        from cxplan.calibrate import PathOptions, calibrate_paths
        from cxplan.errors import UsageError

        if not separator.strip():
            raise UsageError("--separator must contain more than spaces")
        options = PathOptions(path=path_column, conversions=conversions_column,
                              nulls=nulls_column, separator=separator.strip(),
                              merge_repeats=merge_repeats)
        _calibrate(output, as_json, lambda progress: calibrate_paths(
            file, options, uncertainty=uncertainty, delimiter=delimiter, progress=progress,
            argv=sys.argv[2:]))

    run(body, machine=as_json)


@calibrate_app.command("survey")
def calibrate_survey_command(
    file: Annotated[Path, typer.Argument(
        help="Survey answers (CSV): respondent, touchpoint, failed (yes/no), score 0-10.",
        show_default=False)],
    output: OutputOpt = None,
    respondent_column: Annotated[str, typer.Option("--respondent-column")] = "respondent",
    touchpoint_column: Annotated[str, typer.Option("--touchpoint-column")] = "touchpoint",
    failed_column: Annotated[str, typer.Option("--failed-column")] = "failed",
    score_column: Annotated[str, typer.Option("--score-column")] = "score",
    value_per_point: Annotated[float | None, typer.Option(
        "--value-per-point", help="What one point of score is worth per customer (an "
        "assumption you state): impact = score drop when the touchpoint fails × this.")]
    = None,
    extends: Annotated[str | None, typer.Option(
        "--extends", help="Write `extends: FILE` (the calibrated journey) at the top.")]
    = None,
    delimiter: DelimiterOpt = None,
    uncertainty: UncertaintyOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Failure rates, NPS groups (the nps extension) and impact estimates per touchpoint
    from survey answers."""

    def body() -> None:
        from cxplan.calibrate import SurveyOptions, calibrate_survey
        from cxplan.scenario.limits import check_amount

        if value_per_point is not None:
            check_amount(value_per_point, "--value-per-point")
        options = SurveyOptions(respondent=respondent_column, touchpoint=touchpoint_column,
                                failed=failed_column, score=score_column,
                                value_per_point=value_per_point, extends=extends)
        _calibrate(output, as_json, lambda _: calibrate_survey(
            file, options, uncertainty=uncertainty, delimiter=delimiter, argv=sys.argv[2:]))

    run(body, machine=as_json)
