"""Hook specifications: what a cxplan plugin can implement.

A plugin is any module or object with functions named like these hooks and
marked with `cxplan.hookimpl`; it is found through the `cxplan` entry-point
group (or `--plugin` on the command line). Built-in criteria are registered
through exactly these hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from cxplan.criterion import Criterion
    from cxplan.model import ModelContext

hookspec = pluggy.HookspecMarker("cxplan")
hookimpl = pluggy.HookimplMarker("cxplan")


@hookspec
def cxplan_criteria() -> list[Criterion]:  # type: ignore[empty-body]
    """Register prioritization criteria.

    Called once when the plugin manager is created. Return a list of
    `cxplan.criterion.Criterion` instances; each `name` must be unique across
    all plugins (two criteria with one name are an error naming both plugins).
    """


@hookspec
def cxplan_constraints(ctx: ModelContext) -> list[tuple[str, object]]:  # type: ignore[empty-body]
    """Add constraints to the optimization model.

    Called once per model build, after the core constraints (budget, teams,
    requires, excludes, mandatory) are in place. `ctx` is the model context
    (decision variables `ctx.x`, journey expressions, the scenario). Return a
    list of `(name, pulp.LpConstraint)` pairs; the name is shown when the
    constraint takes part in an infeasibility. Return `[]` when the scenario
    does not concern the plugin.
    """
