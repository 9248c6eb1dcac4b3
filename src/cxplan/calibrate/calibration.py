"""Data files → scenario fragments, with a provenance header: the public entry points of
`cxplan calibrate` (docs/calibration.md)."""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxplan.calibrate.emit import Document, Flow, to_yaml
from cxplan.calibrate.fragment import Options, journey_fragment
from cxplan.calibrate.inputs import sha256
from cxplan.calibrate.log import LogOptions, LogSummary, log_traces
from cxplan.calibrate.paths import PathOptions, path_traces
from cxplan.calibrate.survey import SurveyOptions, survey_fragment
from cxplan.calibrate.table import Progress, read_table
from cxplan.calibrate.traces import Counts, Traces, count
from cxplan.calibrate.xes import read_xes
from cxplan.version import __version__


@dataclass
class Calibration:
    """A calibrated fragment: the document (data and comments), the journeys it came from
    (None for a survey), and what the reading noted."""

    document: Document
    traces: Traces | None
    warnings: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        """The fragment as scenario data (distributions as written, for `load_scenario`)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Flow):
                value = value.items
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        data: dict[str, Any] = plain(self.document.data)
        return data

    def counts(self, persona: int | None = None) -> Counts:
        """The counts behind the fragment (all journeys, or one persona's)."""
        if self.traces is None:
            raise ValueError("a survey's calibration has no journeys")
        return count(self.traces, persona)

    def summary(self) -> dict[str, Any]:
        """The counts as data (`calibrate --json`): per touchpoint its visits, starts,
        completions, abandonments and failures, and every directly-follows count."""
        out: dict[str, Any] = {"header": [h for h in self.document.header if h],
                               "warnings": list(self.warnings)}
        if self.traces is None:
            return out
        c = self.counts()
        ids = [t for t, _ in self.traces.touchpoints]
        out["cases"] = c.cases
        out["touchpoints"] = [
            {"id": t, "name": name, "visits": int(c.occurrences[k]),
             "starts": int(c.starts[k]), "completions": int(c.completions[k]),
             "abandonments": int(c.abandonments[k]), "failures": int(c.failures[k]),
             "failed_abandonments": int(c.failed_abandonments[k])}
            for k, (t, name) in enumerate(self.traces.touchpoints)]
        out["follows"] = [{"from": ids[a], "to": ids[b], "count": n}
                          for (a, b), n in sorted(c.follows.items())]
        return out

    def yaml(self) -> str:
        """The fragment as YAML, with its header and a comment on every count."""
        return to_yaml(self.document)


def header(command: str, path: str | Path, options: list[str], facts: list[str]) -> list[str]:
    """The provenance header: what made the fragment, from which file, when."""
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return [
        f"Calibrated by cxplan {__version__}: cxplan calibrate {command} on {when}",
        f"source: {Path(path).name} (sha256 {sha256(path)})",
        "options: " + (shlex.join(options) or "(none)"),
        *facts,
        "Each number is the observed frequency its comment counts (docs/calibration.md).",
        "Use it with `extends:` from a scenario that adds impacts, improvements and budget.",
        "",
    ]


def calibrate_log(path: str | Path, options: LogOptions | None = None, *,
                  uncertainty: bool = False, delimiter: str | None = None,
                  progress: Progress | None = None, name: str | None = None,
                  argv: list[str] | None = None) -> Calibration:
    """Calibrate a journey from the event log at `path` (CSV or XES)."""
    shown = name or str(path)
    options = options or LogOptions()
    if str(path).lower().endswith(".xes"):
        table = read_xes(path, shown, progress=progress)
    else:
        columns = list(options.columns())
        table = read_table(path, shown, columns, require_columns=options.columns(),
                           delimiter=delimiter, progress=progress)
    traces, summary = log_traces(table, options)
    document = journey_fragment(traces, Options(name=f"Calibrated from {Path(path).name}",
                                                uncertainty=uncertainty))
    document.header = header("log", path, argv or [], _log_facts(summary, traces))
    return Calibration(document, traces, summary.warnings())


def _log_facts(summary: LogSummary, traces: Traces) -> list[str]:
    c = count(traces)
    facts = [f"counts: {summary.events} events in {summary.cases} cases, "
             f"{summary.activities} activities; kept {summary.kept_events} visits of "
             f"{len(traces.touchpoints)} touchpoints in {c.cases} journeys, "
             f"{int(c.completions.sum())} completed"]
    if summary.dropped_lifecycle:
        facts.append(f"{summary.dropped_lifecycle} events of other lifecycle transitions "
                     "left out")
    if summary.markers:
        facts.append(f"{summary.markers} failure markers")
    if summary.merged_repeats:
        facts.append(f"{summary.merged_repeats} repeated visits merged into the one before")
    return facts + [f"note: {w}" for w in summary.warnings()]


def calibrate_paths(path: str | Path, options: PathOptions | None = None, *,
                    uncertainty: bool = False, delimiter: str | None = None,
                    progress: Progress | None = None, name: str | None = None,
                    argv: list[str] | None = None) -> Calibration:
    """Calibrate a journey from the aggregated customer paths at `path` (CSV)."""
    options = options or PathOptions()
    table = read_table(path, name or str(path), list(options.columns()),
                       require_columns=options.columns(), delimiter=delimiter,
                       progress=progress)
    traces, unused = path_traces(table, options)
    document = journey_fragment(traces, Options(name=f"Calibrated from {Path(path).name}",
                                                uncertainty=uncertainty))
    c = count(traces)
    facts = [f"counts: {table.rows} paths, {c.cases} journeys "
             f"({int(c.completions.sum())} conversions, {int(c.abandonments.sum())} nulls), "
             f"{len(traces.touchpoints)} touchpoints"]
    warnings = []
    if unused:
        warnings.append(f"{unused} paths have no conversion and no null and are not counted")
    if options.merge_repeats:
        facts.append("repeated touchpoints merged into one visit")
    document.header = header("paths", path, argv or [], facts + [f"note: {w}" for w in warnings])
    return Calibration(document, traces, warnings)


def calibrate_survey(path: str | Path, options: SurveyOptions | None = None, *,
                     uncertainty: bool = False, delimiter: str | None = None,
                     name: str | None = None, argv: list[str] | None = None) -> Calibration:
    """Failure rates, NPS groups and impact estimates from the survey answers at `path`."""
    options = options or SurveyOptions()
    table = read_table(path, name or str(path), list(options.columns()),
                       require_columns=options.columns(), delimiter=delimiter)
    document, warnings, facts = survey_fragment(table, options, uncertainty=uncertainty)
    assumption = ([f"assumption: one point of score is worth {options.value_per_point:g} "
                   "per customer (--value-per-point)"]
                  if options.value_per_point is not None else [])
    document.header = header("survey", path, argv or [], [
        f"counts: {facts['answers']} answers from {facts['respondents']} respondents on "
        f"{facts['touchpoints']} touchpoints", *assumption,
        *(f"note: {w}" for w in warnings)])
    return Calibration(document, None, warnings)
