"""Errors cxplan raises on purpose, each mapped to a documented exit code.

Library code raises these and never prints or exits; the CLI turns them into
messages on stderr and the exit codes the README lists ("Command line").
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or suspicious) in a scenario, with where it was written."""

    file: str
    location: str
    message: str
    hint: str | None = None
    line: int | None = None
    severity: str = "error"  # "error" or "warning"
    # Warnings that can come by the thousand (an unreachable touchpoint each) name their
    # kind, in the plural, and what they are about; `grouped_warnings` shows them as one.
    group: str | None = None
    subject: str | None = None

    def format(self) -> str:
        """`file: location: message`, the contract format, plus line and hint when known."""
        place = f"{self.file}: {self.location}: " if self.location else f"{self.file}: "
        text = place + self.message
        if self.line is not None:
            text += f" [line {self.line}]"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class CxplanError(Exception):
    """Base class of every error cxplan raises deliberately."""

    exit_code = 1


class ScenarioError(CxplanError):
    """The scenario is invalid; `problems` lists every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        count = len(self.problems)
        self._all = problems
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in scenario:\n"
            + "\n".join(p.format() for p in self.problems)
        )

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[Problem]]]:
        # Raised in a worker process (`cxplan robust`), it travels back pickled.
        return type(self), (self._all,)


class DataError(ScenarioError):
    """A data file given to `cxplan calibrate` (an event log, a path or survey export, an
    activity mapping) is unusable: every problem found, each with file, row and column."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.args = ("\n".join(p.format() for p in self.problems),)


class UsageError(CxplanError, ValueError):
    """A command-line or API argument is wrong (unknown team, unknown improvement, a number
    that is not finite, ...). Also a ValueError, as Python's own argument errors are."""

    exit_code = 2


class InfeasibleError(CxplanError):
    """No selection satisfies all constraints; `conflict` names a minimal conflicting set."""

    exit_code = 3

    def __reduce__(self) -> tuple[type[InfeasibleError], tuple[list[str]]]:
        return type(self), (self.conflict,)

    def __init__(self, conflict: list[str]) -> None:
        self.conflict = conflict
        super().__init__(
            "no plan satisfies all constraints. These constraints conflict "
            "(dropping any one of them removes this conflict):\n"
            + "\n".join(f"  - {c}" for c in conflict)
        )


class PluginError(CxplanError):
    """A plugin failed to load, raised, or returned something of the wrong type."""

    exit_code = 4

    def __init__(self, plugin: str, hook: str, message: str) -> None:
        self.plugin = plugin
        self.hook = hook  # a hook's name, "import", "register", or what was being run
        # ("criterion 'nps', evaluate", "command 'audit'", "validating section 'nps'")
        self.message = message
        where = f"hook {hook}" if hook.startswith("cxplan_") or hook in _STAGES else hook
        super().__init__(f"plugin {plugin!r}, {where}: {message}")

    def __reduce__(self) -> tuple[type[PluginError], tuple[str, str, str]]:
        return type(self), (self.plugin, self.hook, self.message)


_STAGES = ("import", "register")  # of loading a plugin, named like hooks


class OutputError(CxplanError):
    """A file cannot be written where it was asked for: a special file or a folder is in
    the way, a link leads out of the output folder, or the system refuses (read-only,
    full, no permission). Nothing is written; the old files are kept."""

    exit_code = 2

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        super().__init__(f"cannot write {self.path}: {reason}")


class TemplateError(CxplanError):
    """A report template is broken or reaches for what templates may not touch (sandbox)."""

    exit_code = 2


class SolverError(CxplanError):
    """The solver stopped without any plan (for example a time limit with no incumbent)."""

    exit_code = 5


class NoPlanInTime(SolverError):
    """The time limit ended before the solver had any plan (nor a start that checks out):
    a caller holding a feasible plan of its own may fall back on it."""


class ConsistencyError(CxplanError):
    """The optimizer's numbers disagree with the independent evaluator: a bug, never hidden."""

    exit_code = 70


class CxplanDeprecationWarning(DeprecationWarning):
    """Something of the plugin API that still works but goes in its next major version
    (docs/plugins.md, "Stability"); the message names what replaces it."""


def deprecated_module(module: str, names: str) -> None:
    """Warn that compatibility module `module` is deprecated in favour of
    `cxplan.plugin_api`, which exports `names`."""
    import warnings

    warnings.warn(f"{module} is deprecated: import {names} from cxplan.plugin_api instead "
                  "(it keeps working in plugin API 1.x and goes in 2.0)",
                  CxplanDeprecationWarning, stacklevel=3)
