"""Seeded random event logs, and an independent count of what they contain.

The count here shares no code with cxplan.calibrate: plain Python, rows grouped by case,
sorted by `datetime.fromisoformat` (time zones honoured; ties keep file order), then the
directly-follows relation, starts, ends and completions counted with dictionaries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import random
from collections import Counter, defaultdict
from typing import Any

ACTIVITIES = ["Visit website", "Apply", "Upload documents", "Verify ID", "Call centre",
              "Approve", "Sign contract", "Complaint"]
ZONES = ["Z", "+01:00", "-05:00", "+05:30", ""]


def random_log(seed: int, cases: int = 60) -> list[dict[str, str]]:
    """Rows of an event log (file order shuffled within limits, some timestamp ties)."""
    rng = random.Random(seed)
    rows = []
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for c in range(cases):
        segment = rng.choice(["retail", "sme"])
        when = start + dt.timedelta(hours=rng.randint(0, 2000))
        for _ in range(rng.randint(1, 7)):
            activity = rng.choice(ACTIVITIES)
            zone = rng.choice(ZONES)
            offset = dt.timedelta(0) if zone in ("Z", "") else dt.timedelta(
                hours=int(zone[:3]), minutes=int(zone[0] + zone[4:]))
            local = (when + offset).replace(tzinfo=None).isoformat()
            rows.append({"case": f"case-{c}", "activity": activity,
                         "time": local + zone, "segment": segment,
                         "failed": rng.choice(["no", "no", "no", "yes"])})
            if rng.random() > 0.2:  # 1 in 5 events has the same time as the one before
                when += dt.timedelta(minutes=rng.randint(1, 600))
    rng.shuffle(rows)
    return rows


def to_csv(rows: list[dict[str, Any]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter,
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def traces(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Each case's events in order: by time, ties in file order."""
    by_case: dict[str, list[tuple[dt.datetime, int, dict[str, str]]]] = defaultdict(list)
    for k, row in enumerate(rows):
        by_case[row["case"]].append((_time(row["time"]), k, row))
    return {case: [r for _, _, r in sorted(events, key=lambda e: (e[0], e[1]))]
            for case, events in by_case.items()}


def independent_counts(rows: list[dict[str, str]], completed: set[str]) -> dict[str, Any]:
    """Directly-follows, starts, ends (by activity name) and the completed share."""
    follows: Counter[tuple[str, str]] = Counter()
    starts: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    done = 0
    for events in traces(rows).values():
        names = [e["activity"] for e in events]
        starts[names[0]] += 1
        ends[names[-1]] += 1
        follows.update(itertools.pairwise(names))
        done += names[-1] in completed
    return {"follows": dict(follows), "starts": dict(starts), "ends": dict(ends),
            "completed": done, "cases": len(traces(rows))}
