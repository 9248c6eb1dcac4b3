"""Survey answers → per touchpoint a failure rate, the `nps` extension's section and an
impact estimate.

One row per answer: respondent, touchpoint, whether that touchpoint failed for them (yes/
no), and a 0–10 score. Per touchpoint:

- failure_probability = answers saying it failed / answers (a beta with `uncertainty`);
- promoters (9–10), passives (7–8) and detractors (0–6) among those for whom it failed
  and those for whom it passed: `extensions.nps.touchpoints` (the cxplan-nps plugin);
- with a value per point (an assumption the user states: what one point of score is worth
  per customer), impact = (mean score when it passed − mean score when it failed) × that
  value, never below 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cxplan.calibrate.emit import Document, Flow
from cxplan.calibrate.log import flags
from cxplan.calibrate.mapping import unique_ids
from cxplan.calibrate.table import Table, require, row_problems
from cxplan.errors import DataError


@dataclass(frozen=True)
class SurveyOptions:
    """Column names, the value of a point of score, the base to extend."""

    respondent: str = "respondent"
    touchpoint: str = "touchpoint"
    failed: str = "failed"
    score: str = "score"
    value_per_point: float | None = None
    extends: str | None = None

    def columns(self) -> dict[str, str]:
        return {self.respondent: "--respondent-column", self.touchpoint: "--touchpoint-column",
                self.failed: "--failed-column", self.score: "--score-column"}


def _scores(table: Table, column: str, keep: np.ndarray) -> np.ndarray:
    texts = table.texts(column)
    scores = np.zeros(len(texts))
    bad = np.zeros(len(texts), dtype=bool)
    for k, text in enumerate(texts):
        try:
            scores[k] = float(text)
        except ValueError:
            bad[k] = True
            continue
        bad[k] = not 0 <= scores[k] <= 10
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(row_problems(table, column, rows, "{value!r} is not a score from 0 "
                                     "to 10", "write the 0-10 answer as a number",
                                     [texts[int(i)] for i in rows]))
    return scores


def _groups(scores: np.ndarray) -> dict[str, int]:
    return {"promoters": int((scores >= 9).sum()),
            "passives": int(((scores >= 7) & (scores < 9)).sum()),
            "detractors": int((scores < 7).sum())}


def survey_fragment(table: Table, options: SurveyOptions, *, uncertainty: bool
                    ) -> tuple[Document, list[str], dict[str, Any]]:
    """The fragment, warnings, and facts for the header (module docstring)."""
    require(table.name, table.available, options.columns())
    everything = np.ones(table.rows, dtype=bool)
    failed = flags(table, options.failed, everything)
    scores = _scores(table, options.score, everything)
    touchpoints = [t.strip() for t in table.texts(options.touchpoint)]
    empty = [k for k, t in enumerate(touchpoints) if not t]
    if empty:
        raise DataError(row_problems(table, options.touchpoint, empty, "empty value{value}",
                                     "every answer names its touchpoint", [""] * len(empty)))
    names = list(dict.fromkeys(touchpoints))
    ids = unique_ids(names)
    position = {n: k for k, n in enumerate(names)}
    which = np.array([position[t] for t in touchpoints])
    doc = Document(data={})
    if options.extends:
        doc.data["extends"] = options.extends
    else:
        doc.data["cxplan"] = 1
    items: list[Any] = []
    nps: dict[str, Any] = {}
    warnings: list[str] = []
    for k, (tp_id, name) in enumerate(zip(ids, names, strict=True)):
        mine = which == k
        n, f = int(mine.sum()), int((mine & failed).sum())
        item: dict[str, Any] = {"id": tp_id}
        if uncertainty and 0 < f < n:
            item["failure_probability"] = Flow({"beta": [f, n - f]})
        else:
            item["failure_probability"] = f / n
        note = [f"{name}: {f} of {n} answers say it failed"]
        bad, good = scores[mine & failed], scores[mine & ~failed]
        if len(bad) and len(good):
            drop = float(good.mean() - bad.mean())
            note.append(f"mean score {good.mean():.2f} when it passed, {bad.mean():.2f} "
                        "when it failed")
            if options.value_per_point is not None:
                item["impact"] = max(0.0, drop) * options.value_per_point
                note.append(f"impact = {max(0.0, drop):.4g} points × "
                            f"{options.value_per_point:g} per point")
                if drop < 0:
                    warnings.append(f"{name}: scores are higher when it failed; impact 0")
            nps[tp_id] = Flow({"failed": Flow(_groups(bad)), "passed": Flow(_groups(good))})
            doc.comments[("extensions", "nps", "touchpoints", tp_id)] = (
                f"{len(bad)} answers when it failed, {len(good)} when it passed")
        else:
            missing = "when it passed" if len(bad) else "when it failed"
            warnings.append(f"{name}: no answers {missing}; no NPS groups or impact for it")
        doc.comments[("touchpoints", len(items))] = "; ".join(note)
        items.append(item)
    doc.data["touchpoints"] = items
    if nps:
        doc.data["extensions"] = {"nps": {"touchpoints": nps}}
    respondents = len(set(table.texts(options.respondent)))
    facts = {"answers": table.rows, "respondents": respondents, "touchpoints": len(ids)}
    return doc, warnings, facts
