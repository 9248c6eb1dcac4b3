"""Which activities of a log are which touchpoints (`--map MAPPING.yaml`).

    touchpoints:                 # optional: the touchpoints, with their names
      application: Loan application
      kyc: Identity check
    activities:                  # activity (as in the log) -> touchpoint id
      Submit application: application
      Resubmit application: application     # several activities may map to one
      Verify ID: kyc
      Send newsletter: ~                    # ~: skipped on purpose
    keep_unmapped: false         # optional: activities not listed become touchpoints too
                                 # (default: skipped, and listed as a warning)

When `touchpoints` is given, every activity must map to one of them (an unknown one is an
error with a "did you mean"); otherwise the touchpoints are the ids the activities map to.
The file is read like a scenario: safe YAML, size-limited, every problem with its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cxplan.errors import DataError, Problem
from cxplan.scenario.source import read_document
from cxplan.text import did_you_mean, shorten, slug

ID = re.compile(r"^\S(.*\S)?$")
MAX_ID = 200


def unique_ids(names: Iterable[str], taken: set[str] | None = None) -> list[str]:
    """A touchpoint id for each name: its slug (`Submit application` -> `submit-application`),
    made unique with -2, -3 ... and kept within the format's 200 characters."""
    used = set(taken or ())
    ids = []
    for name in names:
        base = slug(name, "touchpoint")[:MAX_ID - 8].strip("-") or "touchpoint"
        candidate, k = base, 1
        while candidate in used:
            k += 1
            candidate = f"{base}-{k}"
        used.add(candidate)
        ids.append(candidate)
    return ids


@dataclass(frozen=True)
class Mapping:
    """Activities -> touchpoint ids (None: skip), the touchpoints' names where given."""

    activities: dict[str, str | None]
    names: dict[str, str]
    declared: bool  # the file lists its touchpoints
    keep_unmapped: bool = False

    def touchpoint_ids(self) -> list[str]:
        """Every touchpoint, in the file's order."""
        targets = [t for t in self.activities.values() if t is not None]
        return list(dict.fromkeys([*self.names, *targets]))

    def touchpoint_name(self, tp_id: str) -> str:
        if tp_id in self.names:
            return self.names[tp_id]
        sources = [a for a, t in self.activities.items() if t == tp_id]
        return shorten(" / ".join(sources), 200) if sources else tp_id


def read_mapping(path: str | Path, name: str | None = None) -> Mapping:
    """The mapping file at `path`; every problem at once (`DataError`, exit code 2)."""
    doc = read_document(path, name=name)
    data, file = doc.data, doc.name
    problems: list[Problem] = list(doc.problems)

    def bad(where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        problems.append(Problem(file, ".".join(map(str, where)), message, hint,
                                doc.line_of(where)))

    if not isinstance(data, dict):
        raise DataError([Problem(file, "", "a mapping file is a mapping with `activities:`",
                                 "see docs/calibration.md, \"Mapping activities\"")])
    for key in data:
        if key not in ("touchpoints", "activities", "keep_unmapped"):
            bad((key,), f"unknown key {shorten(key)}"
                f"{did_you_mean(key, ['touchpoints', 'activities', 'keep_unmapped'])}")
    names: dict[str, str] = {}
    raw_names = data.get("touchpoints") or {}
    if not isinstance(raw_names, dict):
        bad(("touchpoints",), "touchpoints maps ids to names",
            "for example touchpoints: {kyc: Identity check}")
        raw_names = {}
    for tp_id, tp_name in raw_names.items():
        if not isinstance(tp_id, str) or not ID.match(tp_id) or len(tp_id) > MAX_ID:
            bad(("touchpoints", str(tp_id)), "not a touchpoint id",
                "1-200 characters, no space at either end")
        elif not isinstance(tp_name, str):
            bad(("touchpoints", tp_id), "the name must be text")
        else:
            names[tp_id] = tp_name
    activities: dict[str, str | None] = {}
    raw = data.get("activities")
    if not isinstance(raw, dict) or not raw:
        bad(("activities",), "activities maps each activity of the log to a touchpoint id",
            "for example activities: {Verify ID: kyc}")
        raw = {}
    for activity, target in raw.items():
        where = ("activities", str(activity))
        if target is None:
            activities[str(activity)] = None
        elif not isinstance(target, str) or not ID.match(target) or len(target) > MAX_ID:
            bad(where, "must be a touchpoint id (or ~ to skip the activity)")
        elif names and target not in names:
            bad(where, f"unknown touchpoint {shorten(target)}{did_you_mean(target, names)}",
                "map to one of the touchpoints listed under `touchpoints`")
        else:
            activities[str(activity)] = target
    keep = data.get("keep_unmapped", False)
    if not isinstance(keep, bool):
        bad(("keep_unmapped",), "must be true or false")
        keep = False
    if problems:
        raise DataError(problems)
    return Mapping(activities, names, bool(names), keep)
