"""cxplan-nps: the NPS change a plan is expected to bring, as a criterion and a report section.

The hooks live here and import the rest lazily, so that loading the plugin (which
`cxplan --help` does) stays fast: the survey model needs pydantic, which `--help` must
not wait for. The model is documented in `cxplan_nps.model` and in this package's README.
Only `cxplan.plugin_api` is used of cxplan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxplan.plugin_api import hookimpl

if TYPE_CHECKING:
    from cxplan.plugin_api import Criterion, Plan, ReportSection, Scenario

__version__ = "0.1.0"
CXPLAN_API = ">=1.0,<2"  # the cxplan plugin API versions this plugin is written for
SECTION = "nps"


@hookimpl
def cxplan_scenario_sections() -> dict[str, Any]:
    from cxplan_nps.model import NpsSection

    return {SECTION: NpsSection}


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    from cxplan_nps.model import NpsCriterion

    return [NpsCriterion()]


@hookimpl
def cxplan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@hookimpl
def cxplan_report_sections(plan: Plan, scenario: Scenario) -> list[ReportSection]:
    if scenario.extension(SECTION) is None:
        return []
    from cxplan_nps.model import report_section

    return [report_section(plan, scenario)]
