"""The what-if analysis for a scenario: single-period plans or roadmaps."""

from __future__ import annotations

from cxplan.clock import Clock
from cxplan.errors import SolverError
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import Prepared, backlog, model_fits, prepare
from cxplan.optimizer.relaxation import relaxation_first
from cxplan.optimizer.roadmap.pipeline import roadmap_backlog, roadmap_model_fits
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario
from cxplan.whatif.engine import Analysis, WhatIf, lp_within
from cxplan.whatif.roadmap import RoadmapAnalysis


def analysis_for(scenario: Scenario, options: SolverOptions | None = None, *,
                 plugins: CxplanPlugins | None = None,
                 room: Scenario | None = None, clock: Clock | None = None,
                 solve_limit: float | None = None) -> WhatIf:
    """An `Analysis`, or a `RoadmapAnalysis` when the scenario has a horizon (`room`: the
    largest limits a roadmap's questions will set, see `RoadmapAnalysis`). With `clock`
    its solves share what the command's clock leaves, each at most `solve_limit` seconds
    (`WhatIf.timed`), and a model that would take more than half of the clock's limit to
    build is not built (as `cxplan plan` decides): `SolverError` says so (`cxplan plan`
    gives the greedy plan of such a backlog; a what-if question has no answer without the
    model)."""
    found: WhatIf
    options = options or SolverOptions()
    plugins = plugins or get_plugin_manager()
    if scenario.horizon is not None:
        if clock is not None and not roadmap_model_fits(
                roadmap_backlog(room or scenario, plugins), clock.limit, plugins,
                lp_within(scenario, options)):
            raise _too_large(clock)
        found = RoadmapAnalysis(scenario, options, plugins=plugins, room=room)
    else:
        prepared: Prepared | None = None
        if clock is not None:
            plain = backlog(scenario, plugins)
            if not model_fits(plain, clock.limit, plugins,
                              relaxation_first(options, len(scenario.improvements))):
                raise _too_large(clock)
            prepared = prepare(scenario, plugins=plugins, journey=plain.journey,
                               lp_within=lp_within(scenario, options))
        found = Analysis(scenario, options, plugins=plugins, prepared=prepared)
    found.timed(clock, solve_limit)
    return found


def _too_large(clock: Clock) -> SolverError:
    return SolverError(
        f"this backlog's model would take more than half of the {clock.limit:g} s time limit "
        "to build, so no what-if question can be answered in time (raise --time-limit; "
        "`cxplan plan` still gives a greedy plan within it)")
