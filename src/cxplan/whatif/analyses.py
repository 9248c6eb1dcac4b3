"""The what-if analysis for a scenario: single-period plans or roadmaps."""

from __future__ import annotations

from cxplan.optimizer.options import SolverOptions
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.whatif.engine import Analysis, WhatIf
from cxplan.whatif.roadmap import RoadmapAnalysis


def analysis_for(scenario: Scenario, options: SolverOptions | None = None, *,
                 plugins: CxplanPlugins | None = None,
                 room: Scenario | None = None) -> WhatIf:
    """An `Analysis`, or a `RoadmapAnalysis` when the scenario has a horizon (`room`: the
    largest limits a roadmap's questions will set, see `RoadmapAnalysis`)."""
    if scenario.horizon is not None:
        return RoadmapAnalysis(scenario, options, plugins=plugins, room=room)
    return Analysis(scenario, options, plugins=plugins)
