"""Problems found in a scenario, each located in the file and place where its value was
written (a variant's values may come from its base file), with its line."""

from __future__ import annotations

from collections.abc import Callable

from cxplan.errors import Problem
from cxplan.scenario.source import Document, Path_, format_path

# How a check reports a problem: (path in the scenario's data, message, hint).
ProblemSink = Callable[[Path_, str, str | None], None]


class ProblemLog:
    """Every problem of one document, errors and warnings, located as they are added."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        # Problems found while reading single values (duplicate keys, YAML tags).
        self.problems: list[Problem] = list(doc.problems)
        self.error_paths: list[Path_] = []

    def error(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "error")

    def warning(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "warning")

    def _add(self, path: Path_, message: str, hint: str | None, severity: str) -> None:
        if any(path[: len(bad)] == bad for bad in self.doc.unreadable):
            return  # already reported by the reader (the data holds a stand-in)
        if severity == "error":
            self.error_paths.append(path)
        file, place = self.doc.origin_of(path)  # a variant's values may come from its base
        self.problems.append(Problem(file, format_path(place), message, hint,
                                     self.doc.line_of(path), severity))

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def in_file_order(self) -> list[Problem]:
        """The problems in file order (stable: problems of a dict, which have no lines, keep
        their order). With `extends`, the variant's own problems come first, then each base
        file's."""
        return sorted(self.problems,
                      key=lambda p: (p.file != self.doc.name, p.file, p.line or 0))
