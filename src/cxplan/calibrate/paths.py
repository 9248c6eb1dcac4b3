"""Aggregated customer paths, as web and marketing analytics export them and
ChannelAttribution reads them: one row per path, `path;total_conversions;total_null`, each
path a sequence of channels or touchpoints (`Search > Display > Email`). A conversion
completes the journey after the path's last touchpoint; a null abandons it there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxplan.calibrate.mapping import unique_ids
from cxplan.calibrate.table import Table, require, row_problems
from cxplan.calibrate.traces import Traces
from cxplan.errors import DataError, Problem


@dataclass(frozen=True)
class PathOptions:
    """Column names, the separator between touchpoints, and what repeats mean."""

    path: str = "path"
    conversions: str = "total_conversions"
    nulls: str = "total_null"
    separator: str = ">"  # surrounding spaces are trimmed from every touchpoint
    merge_repeats: bool = False

    def columns(self) -> dict[str, str]:
        return {self.path: "--path-column", self.conversions: "--conversions-column",
                self.nulls: "--nulls-column"}


def _counts(table: Table, column: str, problems: list[Problem]) -> np.ndarray:
    """Whole non-negative numbers (`12`, `12.0`); anything else is added to `problems`,
    with its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.columns[column].combine_chunks()
    try:
        parsed = pc.cast(pc.utf8_trim_whitespace(values), pa.float64())
        numbers = parsed.to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.floor(numbers)) \
            | (numbers > 2.0 ** 53)
    except pa.ArrowInvalid:
        texts = values.to_pylist()
        numbers = np.zeros(len(texts))
        bad = np.zeros(len(texts), dtype=bool)
        for k, text in enumerate(texts):
            try:
                numbers[k] = float(text)
                bad[k] = not (np.isfinite(numbers[k]) and 0 <= numbers[k] <= 2.0 ** 53
                              and numbers[k] == np.floor(numbers[k]))
            except ValueError:
                bad[k] = True
    if bad.any():
        rows = np.flatnonzero(bad)
        problems += row_problems(table, column, rows, "{value!r} is not a count",
                                 "a whole number, 0 or more",
                                 values.filter(pa.array(bad)).to_pylist())
    counts: np.ndarray = np.asarray(numbers, dtype=float)
    return counts


def path_traces(table: Table, options: PathOptions) -> tuple[Traces, int]:
    """The journeys of the path file in `table`, and how many rows had no journey (0
    conversions and 0 nulls)."""
    import pyarrow.compute as pc

    require(table.name, table.available, options.columns())
    problems: list[Problem] = []
    conversions = _counts(table, options.conversions, problems)
    nulls = _counts(table, options.nulls, problems)
    paths = table.columns[options.path].combine_chunks()
    steps = pc.split_pattern(paths, options.separator)
    lengths = pc.list_value_length(steps).to_numpy(zero_copy_only=False)
    channels = pc.utf8_trim_whitespace(pc.list_flatten(steps))
    row_of = np.repeat(np.arange(len(paths)), lengths)
    empty = pc.equal(channels, "").to_numpy(zero_copy_only=False)
    if empty.any():
        rows = np.unique(row_of[empty])
        problems += row_problems(
            table, options.path, rows, "an empty touchpoint in the path{value}",
            f"touchpoints are separated by {options.separator.strip()!r} "
            "(--separator names another)", [""] * len(rows))
    if problems:
        raise DataError(problems)
    encoded = channels.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    used = (conversions + nulls) > 0
    keep = used[row_of]
    codes, row_of = codes[keep], row_of[keep]
    if options.merge_repeats and len(codes):
        repeat = np.zeros(len(codes), dtype=bool)
        repeat[1:] = (row_of[1:] == row_of[:-1]) & (codes[1:] == codes[:-1])
        codes, row_of = codes[~repeat], row_of[~repeat]
    present, dense = np.unique(row_of, return_inverse=True)
    traces = Traces(
        touchpoints=list(zip(unique_ids(names), names, strict=True)),
        event_touchpoint=codes, event_case=dense,
        event_failed=np.zeros(len(codes), dtype=bool),
        completions=conversions[present], abandonments=nulls[present],
        persona=np.zeros(len(present), dtype=np.int64), personas=[])
    return traces, int((~used).sum())
