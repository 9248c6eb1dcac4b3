"""Problems found in a scenario, each located in the file and place where its value was
written (a variant's values may come from its base file), with its line.

What another file holds is not repeated: a problem whose value comes from a file the
scenario `extends` names that file, the place (its format's keys only) and the line, but
no value, key or name written there (`not_repeated`). Only the file being validated has
its values quoted, cut short.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from cxplan.errors import Problem
from cxplan.scenario.models import FORMAT_KEYS
from cxplan.scenario.source import Document, Path_, format_path

# How a check reports a problem: (path in the scenario's data, message, hint).
ProblemSink = Callable[[Path_, str, str | None], None]


class ProblemLog:
    """Every problem of one document, errors and warnings, located as they are added."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        # Problems found while reading single values (duplicate keys, YAML tags).
        self.problems: list[Problem] = not_repeated(doc.problems, doc.name)
        self.error_paths: list[Path_] = []

    def error(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "error")

    def warning(self, path: Path_, message: str, hint: str | None = None, *,
                group: str | None = None, subject: str | None = None) -> None:
        """A warning; one of a kind that may repeat names its `group` (a plural
        description) and `subject` (the id it is about), to be shown grouped."""
        self._add(path, message, hint, "warning", group, subject)

    def _add(self, path: Path_, message: str, hint: str | None, severity: str,
             group: str | None = None, subject: str | None = None) -> None:
        if any(path[: len(bad)] == bad for bad in self.doc.unreadable):
            return  # already reported by the reader (the data holds a stand-in)
        if severity == "error":
            self.error_paths.append(path)
        file, place = self.doc.origin_of(path)  # a variant's values may come from its base
        cell = self.doc.cell_of(path)
        location = format_path(place)
        if cell is not None:  # read from a workbook: the cell, and the field's name
            field = next((p for p in reversed(place) if isinstance(p, str) and p in FORMAT_KEYS),
                         "")
            location, message = cell, f"{field}: {message}" if field else message
        problem = Problem(file, location, message, hint, self.doc.line_of(path),
                          severity, group, subject)
        if file != self.doc.name:
            problem = _without_values(problem, place)
        self.problems.append(problem)

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def in_file_order(self) -> list[Problem]:
        """The problems in file order (stable: problems of a dict, which have no lines, keep
        their order). With `extends`, the variant's own problems come first, then each base
        file's."""
        return sorted(self.problems,
                      key=lambda p: (p.file != self.doc.name, p.file, p.line or 0))


_QUOTED = re.compile(r"'[^']*'|`[^`]*`|\"[^\"]*\"")
_ECHOES = re.compile(r"\s*\((?:got|did you mean|allowed here|first used at)[^)]*\)")


def not_repeated(problems: Iterable[Problem], own_file: str) -> list[Problem]:
    """`problems`, with nothing that another file than `own_file` holds repeated in them."""
    return [p if p.file == own_file else _without_values(p, None) for p in problems]


def _without_values(problem: Problem, place: Path_ | None) -> Problem:
    """The problem with no value, name or key of its file in it: quoted text is elided,
    "(got ...)" and suggestions dropped, and the place keeps the format's own keys only."""
    message = _QUOTED.sub("…", _ECHOES.sub("", problem.message))
    if place is not None:
        location = format_path(tuple(part if isinstance(part, int) or part in FORMAT_KEYS
                                     else "…" for part in place))
    else:  # a problem of reading that file: what was read is not described at all
        location, message = "", message.split(":", 1)[0]
    where = f" (line {problem.line})" if problem.line is not None else ""
    return replace(problem, message=message, location=location,
                   hint=f"the value is in {problem.file}{where}, which this scenario extends: "
                        "what other files hold is not repeated here; open that file, or "
                        "validate it on its own")


GROUPED_FROM = 4  # this many warnings of one kind, or more, are shown as one
NAMED_IN_GROUP = 5  # how many of their subjects the one warning names


def grouped_warnings(problems: Sequence[Problem]) -> list[Problem]:
    """`problems` with the warnings of one kind (same file and `group`) shown as one when
    there are many: "4000 touchpoints are unreachable ...: 'a', 'b', ... and 3995 more",
    at the place of the first. A journey with thousands of unreachable touchpoints then
    says so in one line, in the terminal and in JSON."""
    members: dict[tuple[str, str], list[Problem]] = {}
    for problem in problems:
        if problem.severity == "warning" and problem.group and problem.subject is not None:
            members.setdefault((problem.file, problem.group), []).append(problem)
    result: list[Problem] = []
    for problem in problems:
        key = (problem.file, problem.group or "")
        group = members.get(key) if problem.severity == "warning" else None
        if group is None or len(group) < GROUPED_FROM:
            result.append(problem)
        elif problem is group[0]:
            named = ", ".join(repr(p.subject) for p in group[:NAMED_IN_GROUP])
            more = len(group) - NAMED_IN_GROUP
            result.append(replace(problem, message=f"{len(group)} {problem.group}: {named}"
                                  + (f" and {more} more" if more > 0 else "")))
    return result
