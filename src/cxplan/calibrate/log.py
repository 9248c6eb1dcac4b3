"""An event log (one event per row: case, activity, timestamp) → observed journeys.

Events are ordered by timestamp within their case (time zones honoured: a timestamp with
an offset is converted to UTC, one without is taken as UTC; ties keep file order), then
mapped to touchpoints (`--map`), failure markers applied, and the cases' ends classified
as completed or abandoned (`--completed`). See docs/calibration.md for every option.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from cxplan.calibrate.mapping import Mapping, unique_ids
from cxplan.calibrate.table import Table, require, row_problems
from cxplan.calibrate.traces import Traces
from cxplan.errors import DataError, Problem, UsageError
from cxplan.text import did_you_mean

CASE, ACTIVITY, TIMESTAMP = "case:concept:name", "concept:name", "time:timestamp"
LIFECYCLE = "lifecycle:transition"
T = TypeVar("T")
TRUE_WORDS = ("1", "true", "yes", "y", "x", "failed", "fail", "failure")
FALSE_WORDS = ("", "0", "false", "no", "n", "passed", "pass", "ok")


@dataclass(frozen=True)
class LogOptions:
    """How a log's columns are read and its events become journeys."""

    case: str = CASE
    activity: str = ACTIVITY
    timestamp: str = TIMESTAMP
    lifecycle: str | None = None  # keep only events of this transition type
    lifecycle_column: str = LIFECYCLE
    completed: Sequence[str] = ()  # activities or touchpoints that complete a journey
    failed: Sequence[str] = ()  # activities that mark the touchpoint before them failed
    failure_column: str | None = None  # a yes/no column: this event's touchpoint failed
    persona_column: str | None = None  # a case attribute: one persona per value
    merge_repeats: bool = False  # a touchpoint repeated right after itself is one visit
    mapping: Mapping | None = None

    def columns(self) -> dict[str, str]:
        """Columns to read -> the option naming them (for messages)."""
        wanted = {self.case: "--case", self.activity: "--activity",
                  self.timestamp: "--timestamp"}
        if self.lifecycle is not None:
            wanted[self.lifecycle_column] = "--lifecycle-column"
        if self.failure_column:
            wanted[self.failure_column] = "--failure-column"
        if self.persona_column:
            wanted[self.persona_column] = "--persona-column"
        return wanted


@dataclass
class LogSummary:
    """What reading the log found, for the provenance header and the terminal."""

    events: int = 0
    cases: int = 0
    activities: int = 0
    kept_events: int = 0
    dropped_lifecycle: int = 0
    unmapped: dict[str, int] = field(default_factory=dict)  # activity -> events skipped
    markers: int = 0
    markers_without_touchpoint: int = 0
    cases_without_touchpoint: int = 0
    merged_repeats: int = 0

    def warnings(self) -> list[str]:
        notes = []
        if self.unmapped:
            listed = ", ".join(f"{a!r} ({n})" for a, n in list(self.unmapped.items())[:20])
            more = len(self.unmapped) - 20
            notes.append(f"{len(self.unmapped)} activities are not in the mapping and were "
                         f"skipped: {listed}" + (f" and {more} more" if more > 0 else ""))
        if self.markers_without_touchpoint:
            notes.append(f"{self.markers_without_touchpoint} failure markers came before "
                         "any touchpoint of their case and were ignored")
        if self.cases_without_touchpoint:
            notes.append(f"{self.cases_without_touchpoint} cases have no touchpoint left "
                         "and are not counted")
        return notes


def parse_timestamps(table: Table, column: str, keep: np.ndarray) -> np.ndarray:
    """Microseconds since 1970 in UTC, for the kept rows; every value that is not a
    timestamp is a problem with its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.columns[column].combine_chunks().filter(pa.array(keep))
    zoned = pc.match_substring_regex(values, r"(Z|z|[+-]\d\d:?\d\d)$").to_numpy(
        zero_copy_only=False)
    out = np.zeros(len(values), dtype=np.int64)
    bad = np.zeros(len(values), dtype=bool)
    for mask, kind in ((zoned, pa.timestamp("us", "UTC")), (~zoned, pa.timestamp("us"))):
        part = values.filter(pa.array(mask))
        try:
            out[mask] = pc.cast(part, kind).cast(pa.int64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            # One by one, to name every bad value (the error path only).
            positions = np.flatnonzero(mask)
            for k, text in enumerate(part.to_pylist()):
                try:
                    out[positions[k]] = pc.cast(pa.array([text]), kind).cast(
                        pa.int64())[0].as_py()
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    bad[positions[k]] = True
    if bad.any():
        rows = np.flatnonzero(keep)[bad]
        texts = values.filter(pa.array(bad)).to_pylist()
        raise DataError(row_problems(
            table, column, rows, "{value!r} is not a timestamp",
            "write ISO 8601, e.g. 2024-03-01T14:05:00+01:00 (without an offset: UTC)",
            texts))
    return out


def _codes(table: Table, column: str, keep: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each kept row's value as a code into the list of distinct values (in order of
    first appearance); an empty value is a problem with its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.columns[column].combine_chunks().filter(pa.array(keep))
    empty = pc.equal(pc.utf8_trim_whitespace(values), "").to_numpy(zero_copy_only=False)
    if empty.any():
        rows = np.flatnonzero(keep)[empty]
        raise DataError(row_problems(table, column, rows, "empty value{value}",
                                  "every event needs a case, an activity and a timestamp",
                                  [""] * len(rows)))
    encoded = values.dictionary_encode()
    return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            [str(v) for v in encoded.dictionary.to_pylist()])


def flags(table: Table, column: str, keep: np.ndarray) -> np.ndarray:
    """A yes/no column (TRUE_WORDS / FALSE_WORDS, any case) as booleans."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.utf8_lower(pc.utf8_trim_whitespace(
        table.columns[column].combine_chunks().filter(pa.array(keep))))
    yes = pc.is_in(values, pa.array(TRUE_WORDS)).to_numpy(zero_copy_only=False)
    no = pc.is_in(values, pa.array(FALSE_WORDS)).to_numpy(zero_copy_only=False)
    neither = ~(yes | no)
    if neither.any():
        rows = np.flatnonzero(keep)[neither]
        texts = values.filter(pa.array(neither)).to_pylist()
        raise DataError(row_problems(table, column, rows, "{value!r} is neither yes nor no",
                                  "write 1/0, yes/no or true/false", texts))
    return np.asarray(yes, dtype=bool)


def _check_names(names: Sequence[str], known: Sequence[str], option: str) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError("; ".join(
            f"{option}: no activity or touchpoint {n!r}{did_you_mean(n, known)}"
            for n in unknown))


def log_traces(table: Table, options: LogOptions) -> tuple[Traces, LogSummary]:
    """The journeys of the log in `table` (module docstring)."""
    import pyarrow.compute as pc

    require(table.name, table.available, options.columns())
    summary = LogSummary(events=table.rows)
    keep = np.ones(table.rows, dtype=bool)
    if options.lifecycle is not None:
        transition = pc.utf8_lower(table.columns[options.lifecycle_column].combine_chunks())
        keep = pc.equal(transition, options.lifecycle.lower()).to_numpy(zero_copy_only=False)
        summary.dropped_lifecycle = int((~keep).sum())
    problems: list[Problem] = []

    def collect(read: Callable[[], T], default: T) -> T:
        # Every column is read before any problem is raised: all of them at once.
        try:
            return read()
        except DataError as exc:
            problems.extend(exc.problems)
            return default

    nothing: tuple[np.ndarray, list[str]] = (np.zeros(0, dtype=np.int64), [])
    cases, case_names = collect(lambda: _codes(table, options.case, keep), nothing)
    activities, activity_names = collect(lambda: _codes(table, options.activity, keep),
                                         nothing)
    stamps = collect(lambda: parse_timestamps(table, options.timestamp, keep), np.zeros(0))
    failed = (collect(lambda: flags(table, options.failure_column or "", keep), np.zeros(0))
              if options.failure_column else np.zeros(len(cases), dtype=bool))
    if problems:
        raise DataError(problems)
    summary.cases = len(case_names)
    summary.activities = len(activity_names)
    order = np.lexsort((stamps, cases))  # by case, then time; ties keep file order
    cases, activities, failed = cases[order], activities[order], failed[order]
    file_row = np.flatnonzero(keep)[order]

    # activity code -> touchpoint code (-1 skipped, -2 a failure marker)
    markers = set(options.failed)
    _check_names(list(markers), activity_names, "--failed")
    mapping = options.mapping
    if mapping is not None:
        tp_ids = mapping.touchpoint_ids()
        tp_names = [mapping.touchpoint_name(t) for t in tp_ids]
        index = {t: k for k, t in enumerate(tp_ids)}
        to_tp = np.full(len(activity_names), -1, dtype=np.int64)
        extra: list[str] = []
        for a, name in enumerate(activity_names):
            if name in markers:
                to_tp[a] = -2
            elif name in mapping.activities:
                target = mapping.activities[name]
                to_tp[a] = index[target] if target is not None else -1
            elif mapping.keep_unmapped:
                extra.append(name)
                to_tp[a] = len(tp_ids) + len(extra) - 1
            else:
                summary.unmapped[name] = 0
        new_ids = unique_ids(extra, taken=set(tp_ids))
        tp_ids, tp_names = tp_ids + new_ids, tp_names + extra
    else:
        plain = [a for a in activity_names if a not in markers]
        ids = iter(unique_ids(plain))
        to_tp = np.array([-2 if a in markers else -3 for a in activity_names],
                         dtype=np.int64)
        tp_ids, tp_names = [], []
        for a, name in enumerate(activity_names):
            if to_tp[a] == -3:
                to_tp[a] = len(tp_ids)
                tp_ids.append(next(ids))
                tp_names.append(name)
    event_tp = to_tp[activities]
    if summary.unmapped:
        skipped = np.bincount(activities[event_tp == -1], minlength=len(activity_names))
        summary.unmapped = {a: int(skipped[k]) for k, a in enumerate(activity_names)
                            if a in summary.unmapped}

    # A marker fails the last touchpoint visit before it in its case.
    is_marker = event_tp == -2
    summary.markers = int(is_marker.sum())
    if summary.markers:
        positions = np.arange(len(event_tp))
        last_visit = np.maximum.accumulate(np.where(event_tp >= 0, positions, -1))
        target = last_visit[is_marker]
        valid = (target >= 0) & (cases[np.maximum(target, 0)] == cases[is_marker])
        failed[target[valid]] = True
        summary.markers_without_touchpoint = int((~valid).sum())
    visit = event_tp >= 0
    cases, event_tp, failed = cases[visit], event_tp[visit], failed[visit]
    activities, file_row = activities[visit], file_row[visit]
    if options.merge_repeats and len(cases):
        repeat = np.zeros(len(cases), dtype=bool)
        repeat[1:] = (cases[1:] == cases[:-1]) & (event_tp[1:] == event_tp[:-1])
        # a merged visit failed if any of its events did
        run = np.cumsum(~repeat) - 1
        merged_failed = np.zeros(int(run[-1]) + 1, dtype=bool)
        np.logical_or.at(merged_failed, run, failed)
        summary.merged_repeats = int(repeat.sum())
        cases, event_tp, activities = cases[~repeat], event_tp[~repeat], activities[~repeat]
        file_row, failed = file_row[~repeat], merged_failed
    summary.kept_events = len(event_tp)

    # Cases renumbered densely in the order they now appear.
    present, dense = np.unique(cases, return_inverse=True)
    summary.cases_without_touchpoint = len(case_names) - len(present)
    n_cases = len(present)
    last = np.ones(len(dense), dtype=bool)
    last[:-1] = dense[1:] != dense[:-1]
    completed = np.ones(n_cases)
    if options.completed:
        _check_names(options.completed, [*activity_names, *tp_ids], "--completed")
        wanted = set(options.completed)
        by_activity = np.array([a in wanted for a in activity_names] or [False])
        by_tp = np.array([t in wanted for t in tp_ids] or [False])
        ends = by_activity[activities[last]] | by_tp[event_tp[last]]
        completed = ends.astype(float)
    persona = np.zeros(n_cases, dtype=np.int64)
    personas: list[tuple[str, str]] = []
    if options.persona_column:
        first = np.ones(len(dense), dtype=bool)
        first[1:] = dense[1:] != dense[:-1]
        import pyarrow as pa

        column = table.columns[options.persona_column].combine_chunks()
        values = column.take(pa.array(file_row[first])).to_pylist()
        names = [str(v).strip() or "(none)" for v in values]
        distinct = list(dict.fromkeys(names))
        lookup = {name: k for k, name in enumerate(distinct)}
        persona = np.array([lookup[n] for n in names], dtype=np.int64)
        personas = list(zip(unique_ids(distinct), distinct, strict=True))
    traces = Traces(
        touchpoints=list(zip(tp_ids, tp_names, strict=True)),
        event_touchpoint=event_tp, event_case=dense, event_failed=failed,
        completions=completed, abandonments=1.0 - completed, persona=persona,
        personas=personas,
        failures_marked=bool(options.failed or options.failure_column))
    return traces, summary
