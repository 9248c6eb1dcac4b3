"""The what-if analysis for a scenario: single-period plans or roadmaps."""

from __future__ import annotations

from cxplan.clock import Clock
from cxplan.optimizer.options import SolverOptions
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.whatif.engine import Analysis, WhatIf
from cxplan.whatif.roadmap import RoadmapAnalysis


def analysis_for(scenario: Scenario, options: SolverOptions | None = None, *,
                 plugins: CxplanPlugins | None = None,
                 room: Scenario | None = None, clock: Clock | None = None,
                 solve_limit: float | None = None) -> WhatIf:
    """An `Analysis`, or a `RoadmapAnalysis` when the scenario has a horizon (`room`: the
    largest limits a roadmap's questions will set, see `RoadmapAnalysis`). With `clock`
    its solves share what the command's clock leaves, each at most `solve_limit` seconds
    (`WhatIf.timed`)."""
    found: WhatIf
    if scenario.horizon is not None:
        found = RoadmapAnalysis(scenario, options, plugins=plugins, room=room)
    else:
        found = Analysis(scenario, options, plugins=plugins)
    found.timed(clock, solve_limit)
    return found
