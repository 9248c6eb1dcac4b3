"""cxplan-coverage: "at least one improvement for every ..." and "no owner above X %".

Configured in the scenario:

    extensions:
      coverage:
        stages: all              # or a list of stage names
        personas: all            # or a list of persona ids
        moments_of_truth: all    # or a list of moment-of-truth touchpoint ids
        max_owner_share: 0.4     # no owner's improvements cost more than 40 % of the budget

The hooks live here and import the rest lazily, so that loading the plugin (which
`cxplan --help` does) stays fast. Only `cxplan.plugin_api` is used of cxplan. The rules
apply only to scenarios that have the section, so the constraints hook does not declare
it as required (`requires_section`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxplan.plugin_api import hookimpl

if TYPE_CHECKING:
    import typer

    from cxplan.plugin_api import ModelView, Plan, ReportSection, Scenario

__version__ = "0.1.0"
CXPLAN_API = ">=1.0,<2"  # the cxplan plugin API versions this plugin is written for
SECTION = "coverage"


@hookimpl
def cxplan_scenario_sections() -> dict[str, Any]:
    from cxplan_coverage.rules import CoverageSection

    return {SECTION: CoverageSection}


@hookimpl
def cxplan_constraints(ctx: ModelView) -> list[tuple[str, object]]:
    if ctx.scenario.extension(SECTION) is None:
        return []
    from cxplan_coverage.rules import constraints

    return constraints(ctx)


@hookimpl
def cxplan_report_sections(plan: Plan, scenario: Scenario) -> list[ReportSection]:
    if scenario.extension(SECTION) is None:
        return []
    from cxplan_coverage.rules import report_section

    return [report_section(plan, scenario)]


@hookimpl
def cxplan_cli(app: typer.Typer) -> None:
    from cxplan_coverage.command import coverage

    app.command("coverage")(coverage)
