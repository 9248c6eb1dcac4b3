"""cxplan-nps: the NPS change a plan is expected to bring, as a criterion and a report section.

The hooks live here and import the rest lazily, so that loading the plugin (which
`cxplan --help` does) stays fast. The model is documented in `cxplan_nps.model`
and in this package's README.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cxplan

if TYPE_CHECKING:
    from cxplan import Plan
    from cxplan.criterion import Criterion
    from cxplan.extensions import ReportSection
    from cxplan.scenario import Scenario

__version__ = "0.1.0"
SECTION = "nps"


@cxplan.hookimpl
def cxplan_scenario_sections() -> dict[str, Any]:
    from cxplan_nps.model import NpsSection

    return {SECTION: NpsSection}


@cxplan.hookimpl
def cxplan_criteria() -> list[Criterion]:
    from cxplan_nps.model import NpsCriterion

    return [NpsCriterion()]


@cxplan.hookimpl
def cxplan_template_dirs() -> list[Path]:
    return [Path(__file__).parent / "templates"]


@cxplan.hookimpl
def cxplan_report_sections(plan: Plan, scenario: Scenario) -> list[ReportSection]:
    if scenario.extension(SECTION) is None:
        return []
    from cxplan_nps.model import report_section

    return [report_section(plan, scenario)]
