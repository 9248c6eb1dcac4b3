"""Hook specifications: everything a cxplan plugin can implement.

A plugin is a module (or any object) with functions named like these hooks and
marked with `cxplan.hookimpl`. It is found through the `cxplan` entry-point
group, or given on the command line with `--plugin module.or.path.py`. The
built-in criteria are registered through exactly these hooks.

Every hook is optional. A hook that raises, or returns something of the wrong
type, stops the run with a `PluginError` naming the plugin and the hook (exit
code 4 on the command line): cxplan never continues with a half-working plugin.
Returning `None` always means "nothing to add".

The author guide, `docs/plugins.md`, documents every hook below with an example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from cxplan.core.criterion import Criterion, ModelView
    from cxplan.core.results import Plan
    from cxplan.scenario.models import Scenario

hookspec = pluggy.HookspecMarker("cxplan")
hookimpl = pluggy.HookimplMarker("cxplan")


@dataclass(frozen=True)
class ReportSection:
    """One section a plugin adds to the reports (hook `cxplan_report_sections`).

    The built-in section template shows `title`, then `text` (paragraphs separated by
    blank lines), then a table of `columns` and `rows` (cells are shown as given: format
    numbers yourself). With `template`, the section is instead rendered by
    `<template>.html.j2` / `<template>.md.j2` from a plugin template folder, which
    receive `section` (this object, with `section.data`) and `view` (the report's view
    model). All text is escaped in both formats.
    """

    id: str
    title: str
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    template: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Checked here, so that the plugin's own line is where a mistake shows: a row with
        # more cells than columns would otherwise render a table that silently lies.
        for key in ("id", "title"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise ValueError(f"ReportSection {key} must be non-empty text, got "
                                 f"{getattr(self, key)!r}")
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        if self.rows and not self.columns:
            raise ValueError(f"ReportSection {self.id!r} has rows but no columns")
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(f"ReportSection {self.id!r}: row {number} has {len(row)} "
                                 f"cell{'s' if len(row) != 1 else ''}, the table has "
                                 f"{len(self.columns)} column"
                                 f"{'s' if len(self.columns) != 1 else ''} "
                                 f"({', '.join(map(str, self.columns))})")


F = TypeVar("F", bound=Callable[..., Any])
SECTIONS_ATTRIBUTE = "cxplan_requires_sections"


def requires_section(name: str) -> Callable[[F], F]:
    """Mark a `cxplan_constraints` implementation as needing the scenario section
    `extensions.<name>`: with the plugin active, a scenario without it is invalid
    (`cxplan validate` reports it, exit code 2, naming the plugin). Criteria declare theirs
    with `Criterion.requires_section`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"requires_section needs a section name, got {name!r}")

    def mark(function: F) -> F:
        needed = (*getattr(function, SECTIONS_ATTRIBUTE, ()), name)
        setattr(function, SECTIONS_ATTRIBUTE, needed)
        return function

    return mark


@hookspec
def cxplan_criteria() -> list[Criterion]:  # type: ignore[empty-body]
    """Register prioritization criteria.

    Called once per plugin manager, the first time criteria are needed (loading a
    scenario checks its `criteria:` names against them). Return a list of
    `cxplan.core.criterion.Criterion` instances. Each `name` is the key a scenario uses in
    its `criteria:` map and must be unique across all plugins: two criteria with one
    name are an error naming both plugins.
    """


@hookspec
def cxplan_constraints(ctx: ModelView) -> list[tuple[str, object]]:  # type: ignore[empty-body]
    """Add constraints to the optimization model.

    Called once per model build, after the core constraints (budget, teams, requires,
    excludes, mandatory) and the objective are in place. `ctx` is the model context:
    the decision variables `ctx.x[improvement_id]` (binary), the journey expressions
    `ctx.visits/failures/dropouts/losses(q, t)`, the validated `ctx.scenario` (with
    `ctx.scenario.extension(name)` for a plugin's own section) and `ctx.journey`.
    Return a list of `(name, pulp.LpConstraint)` pairs; the name, prefixed with the
    plugin's name, is shown when the constraint takes part in an infeasibility. Return
    `[]` when the scenario does not concern the plugin.
    """


@hookspec
def cxplan_scenario_sections() -> dict[str, type[BaseModel]]:  # type: ignore[empty-body]
    """Declare the plugin's own section of the scenario file.

    Return `{section_name: PydanticModel}`. A scenario then may contain
    `extensions: {section_name: {...}}`; the mapping is validated by
    `PydanticModel.model_validate(value, context={"scenario": raw_scenario_dict})`,
    and every problem is reported like all others, with file, location
    (`extensions.section_name.field`), line and hint. A section nobody declares is a
    validation error. The validated model instance is available after loading as
    `scenario.extension(section_name)` (None when the scenario has no such section).
    Two plugins declaring one section name are an error naming both.
    """


@hookspec
def cxplan_transform_scenario(scenario: Scenario) -> Scenario | None:  # type: ignore[empty-body]
    """Change a loaded scenario before anything is modelled.

    Called once per `load_scenario`, after validation, in plugin registration order
    (each plugin receives the previous plugin's result). Return a new `Scenario` (for
    example `scenario.model_copy(update={...})`) or None to leave it unchanged. The
    result is validated again like a file; if it is invalid, the plugin is named.
    """


@hookspec
def cxplan_template_dirs() -> list[str | Path]:  # type: ignore[empty-body]
    """Folders of Jinja templates for the reports.

    Templates are looked up in the user's `--templates` folder first, then in these
    folders (in plugin registration order), then in cxplan's built-in templates. A
    plugin can so override a built-in template or ship the template of a report
    section (see `cxplan_report_sections`).
    """


@hookspec
def cxplan_report_sections(  # type: ignore[empty-body]
    plan: Plan, scenario: Scenario
) -> list[ReportSection]:
    """Add sections to the HTML and Markdown reports.

    Called once per report, with the finished plan and the scenario it was solved for.
    Return a list of `ReportSection` (above; also importable from `cxplan.extensions`):
    a title, text, an optional table, and optionally the name of a template pair
    (`<template>.html.j2` and `<template>.md.j2` in a folder from `cxplan_template_dirs`)
    that renders the section from `section.data`. Sections appear after the built-in ones, in plugin
    registration order. Return `[]` when the plan does not concern the plugin.
    """


@hookspec
def cxplan_cli(app: typer.Typer) -> None:
    """Add subcommands to the `cxplan` command line.

    Called once when the command line starts, with the Typer application: register
    commands with `@app.command()`. Keep the plugin module's import light (import
    heavy libraries inside the command), because it is imported for `cxplan --help`.
    A command's name must not clash with a built-in one.
    """


@hookspec
def cxplan_plan_finished(plan: Plan, scenario: Scenario) -> None:
    """Observe a finished plan.

    Called by `optimize` (and so by `cxplan plan`) once the plan has been solved,
    re-evaluated exactly and checked, before it is returned or reported. Use it to
    log, audit or export plans. The return value is ignored; an exception stops the
    run with a `PluginError` naming the plugin.
    """
