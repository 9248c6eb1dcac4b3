"""Roadmaps: with a `horizon:`, when to start each improvement, not only which.

    >>> from cxplan import load_scenario, optimize
    >>> plan = optimize(load_scenario("scenarios/microfinance-roadmap.yaml"))
    >>> plan.schedule          # {improvement id: (start period, finish period)}
    >>> plan.periods[0].spend  # money, staff and value per period

`cxplan.core.calendar` holds the semantics (when work is done, when it pays
off), `model` the exact multi-period MILP, `evaluate` the independent exact
evaluator of a schedule, `start` the MIP start, `solve` the pipeline.
"""
