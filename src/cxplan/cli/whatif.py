"""What-if commands: `compare`, `frontier`, `explain`, `sensitivity` (cxplan.whatif)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxplan.cli.common import (
    JsonOpt,
    ScenarioArg,
    app,
    check_outputs,
    emit,
    load,
    money,
    parse_teams,
    run,
    stderr_console,
    stdout_console,
)
from cxplan.core.status import Status

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.clock import Clock
    from cxplan.core.results import MarginalValues, Plan
    from cxplan.optimizer.options import SolverOptions
    from cxplan.scenario.models import Scenario
    from cxplan.whatif.compare import Comparison
    from cxplan.whatif.explain import Explanation
    from cxplan.whatif.frontier import Frontier, FrontierPoint
    from cxplan.whatif.sensitivity import Sensitivity

TimeLimitOpt = Annotated[float, typer.Option(
    "--time-limit", help="Seconds for the whole command (reading, building, every solve); "
    "solves stopped by it give their best plan and gap, work it leaves no time for is "
    "skipped with a warning.")]
SolveLimitOpt = Annotated[float | None, typer.Option(
    "--solve-time-limit", help="Seconds per solve at most (default: an equal part of what "
    "--time-limit leaves to the solves still to do).")]
GapOpt = Annotated[float, typer.Option(help="Relative optimality gap to stop each solve at.")]
ReportOpt = Annotated[Path | None, typer.Option(
    "--report", help="Write an HTML page (with its chart) to this folder.")]
BudgetOpt = Annotated[str | None, typer.Option(
    help="Override the scenario's budget: an amount (25000, 500k, 1.5M) or a share (110%).")]
TeamOpt = Annotated[list[str] | None, typer.Option(
    "--team", help="Override a team's capacity, NAME=N or NAME=120% (repeatable).")]


def _options(time_limit: float, gap: float, solve_limit: float | None = None) -> SolverOptions:
    """The solver's options: its time limit is `solve_limit` when given (each solve's), else
    the command's (each solve then gets its share of the command's clock)."""
    from dataclasses import replace

    from cxplan.optimizer.options import SolverOptions

    options = SolverOptions(time_limit=time_limit, gap=gap)  # checks both limits
    return options if solve_limit is None else replace(options, time_limit=solve_limit)


def _clock(time_limit: float) -> Clock:
    """The command's clock: --time-limit counts from the process's start (as `plan`'s),
    reading the files included."""
    from cxplan.clock import command_clock

    return command_clock(time_limit)


def _warn(warnings: Iterable[str]) -> None:
    err = stderr_console()
    for warning in warnings:
        err.print("warning: " + warning, markup=False)


def _limited(path: Path, budget: str | None, team: list[str] | None) -> Scenario:
    from cxplan.api import apply_limits

    return apply_limits(load(path), budget, parse_teams(team or []))


def _emit_json(data: dict[str, Any]) -> None:
    emit(json.dumps(data, allow_nan=False) + "\n")


def _wrote(paths: list[Path]) -> None:
    err = stderr_console()
    for path in paths:
        err.print(f"wrote {path}", markup=False)


# -- compare ------------------------------------------------------------------------------------

@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(
        help="Two or more scenario files (variants); the first is the reference.",
        show_default=False)],
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    solve_time_limit: SolveLimitOpt = None,
    gap: GapOpt = 1e-6,
) -> None:
    """Solve several scenarios and set their plans side by side."""

    def body() -> None:
        from cxplan.api import optimize
        from cxplan.clock import Clock
        from cxplan.errors import SolverError, UsageError
        from cxplan.whatif.compare import compare as compare_plans
        from cxplan.whatif.engine import can_start, solve_share

        clock = _clock(time_limit)
        options = _options(time_limit, gap, solve_time_limit)
        if len(scenarios) < 2:
            raise UsageError("compare needs at least two scenario files")
        with clock.phase("read"):
            loaded = [load(p) for p in scenarios]  # every file checked before any solve
        check_outputs(report)
        plans = []
        with clock.phase("solve"):
            for index, one in enumerate(loaded):
                # Each plan (building, solving, ordering) gets an equal part of what is
                # left, at most --solve-time-limit.
                seconds = solve_share(clock, len(loaded) - index, solve_time_limit)
                if not can_start(seconds):
                    break
                assert seconds is not None
                plans.append(optimize(one, options=options, shapley=False,
                                      clock=Clock(seconds)))
        if len(plans) < 2:
            raise SolverError("the time limit left no time to solve two of the scenarios "
                              f"(--time-limit {time_limit:g}): raise --time-limit")
        comparison = compare_plans(loaded[:len(plans)], plans,
                                   [str(p) for p in scenarios[len(plans):]])
        written: list[Path] = []
        with clock.phase("report"):
            if report is not None:
                from cxplan.report.whatif import write_comparison

                written = write_comparison(comparison, report)
        if as_json:
            _emit_json({**comparison.to_dict(), "timings": clock.summary()})
        else:
            _print_comparison(comparison, stdout_console())
        _warn(comparison.warnings)
        _wrote(written)

    run(body, machine=as_json)


def _print_comparison(c: Comparison, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cxplan.report.whatif import comparison_rows

    heads, rows = comparison_rows(c)
    table = Table(show_edge=False, header_style="bold")
    table.add_column("")
    for head in heads:
        table.add_column(escape(head), justify="right", overflow="fold")
    for row in rows:
        table.add_row(escape(row["label"]), *(escape(v) for v in row["values"]))
    out.print(table)
    for note in c.notes:
        out.print(escape(note))


# -- frontier -----------------------------------------------------------------------------------

@app.command()
def frontier(
    scenario: ScenarioArg,
    budget: Annotated[str | None, typer.Option(
        "--budget", metavar="FROM:TO:STEPS",
        help="Budget levels: STEPS points from FROM to TO (amounts, or % of the current "
        "budget: 50%:150%:11).")] = None,
    team: Annotated[str | None, typer.Option(
        "--team", metavar="NAME=FROM:TO:STEPS", help="A team's capacity levels instead.")]
    = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")] = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write the HTML page, SVG chart and CSV to this folder.")] = None,
    no_reuse: Annotated[bool, typer.Option(
        "--no-reuse", help="Build and solve every point from scratch (for comparison).")]
    = False,
    time_limit: TimeLimitOpt = 60.0,
    solve_time_limit: SolveLimitOpt = None,
    gap: GapOpt = 1e-6,
) -> None:
    """The best plan at each level of the budget (or of a team): gain, knees, gain per unit."""

    def body() -> None:
        from cxplan.errors import SolverError, UsageError
        from cxplan.whatif.frontier import frontier as run_frontier
        from cxplan.whatif.frontier import parse_range

        clock = _clock(time_limit)
        if (budget is None) == (team is None):
            raise UsageError("give exactly one of --budget FROM:TO:STEPS or "
                             "--team NAME=FROM:TO:STEPS")
        if as_json and as_csv:
            raise UsageError("--json and --csv both print on stdout; choose one")
        options = _options(time_limit, gap, solve_time_limit)
        with clock.phase("read"):
            loaded = load(scenario)
        if budget is not None:
            limit, levels = "budget", parse_range(budget, loaded.budget, what="--budget")
        else:
            assert team is not None
            name, sep, spec = team.partition("=")
            if not sep or not name.strip():
                raise UsageError(f"--team expects NAME=FROM:TO:STEPS, got {team!r}")
            name = name.strip()
            limit = f"team:{name}"
            levels = parse_range(spec, loaded.teams.get(name), what="--team")
        err = stderr_console()
        quiet = as_json or as_csv

        def progress(point: FrontierPoint) -> None:
            if not quiet:
                err.print(f"  {point.level:,.6g}: "
                          + (f"{point.outcome.objective:,.0f} ({point.outcome.status})"
                             if point.outcome else "no plan"), markup=False)

        check_outputs(report)
        result = run_frontier(loaded, limit, levels, options=options, reuse=not no_reuse,
                              progress=progress, clock=clock, solve_limit=solve_time_limit)
        clock.record("build", result.build_seconds)
        clock.record("solve", result.seconds - result.build_seconds)
        if not result.points:
            raise SolverError("the time limit left no time to solve any frontier point "
                              f"(--time-limit {time_limit:g}; reading and building took "
                              f"{clock.elapsed:.1f} s): raise --time-limit")
        written: list[Path] = []
        with clock.phase("report"):
            if report is not None:
                from cxplan.report.whatif import write_frontier

                written = write_frontier(result, report)
        if as_json:
            _emit_json({**result.to_dict(), "timings": clock.summary()})
        elif as_csv:
            emit(result.to_csv())
        else:
            _print_frontier(result, stdout_console())
        _warn(result.warnings)
        _wrote(written)

    run(body, machine=as_json or as_csv)


def _print_frontier(f: Frontier, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    cur = f.currency
    is_money = f.limit == "budget"
    out.print(f"[bold]{escape(f.scenario)}[/bold] — frontier of {escape(f.label)}, "
              f"{len(f.points)} points, {len(f.knees)} knees, {f.solves} solves in "
              f"{f.seconds:.1f} s")
    table = Table(show_edge=False, header_style="bold")
    for col, justify in ((f.label, "right"), ("objective", "right"), ("cost", "right"),
                         ("gain/unit", "right"), ("status", "left"), ("plan changes", "left")):
        table.add_column(escape(col), justify=justify, overflow="fold")  # type: ignore[arg-type]
    for p in f.points:
        o = p.outcome
        level = money(p.level, cur) if is_money else f"{p.level:g}"
        # ~id: on a roadmap, an improvement that starts in another period than before
        change = " ".join([*(f"+{i}" for i in p.added), *(f"-{i}" for i in p.dropped),
                           *(f"~{i}" for i in p.moved)])
        table.add_row(level, f"{o.objective:,.0f}" if o else "-",
                      money(o.cost, cur) if o else "-",
                      "-" if p.per_unit is None else f"{p.per_unit:,.4g}",
                      o.status if o else "no plan",
                      escape(change if o else "; ".join(p.conflict)),
                      style="bold" if p.knee else None)
    out.print(table)
    if f.periods:
        out.print(f"each level scales every period's {'money' if is_money else 'people'} in "
                  "proportion; +added -dropped ~starts in another period", markup=False)


# -- explain ------------------------------------------------------------------------------------

@app.command()
def explain(
    scenario: ScenarioArg,
    improvements: Annotated[list[str] | None, typer.Argument(
        help="Improvement id(s) to explain (none with --all).", show_default=False)] = None,
    explain_all: Annotated[bool, typer.Option(
        "--all", help="Explain every improvement (one line each).")] = False,
    as_json: JsonOpt = False,
    budget: BudgetOpt = None,
    team: TeamOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    solve_time_limit: SolveLimitOpt = None,
    gap: GapOpt = 1e-6,
) -> None:
    """Why an improvement is in the plan (and what replaces it) or why it is left out."""

    def body() -> None:
        from cxplan.errors import UsageError
        from cxplan.whatif.explain import explain_many

        clock = _clock(time_limit)
        options = _options(time_limit, gap, solve_time_limit)
        with clock.phase("read"):
            loaded = _limited(scenario, budget, team)
        wanted = loaded.improvement_ids if explain_all else list(improvements or [])
        if not wanted:
            raise UsageError("name an improvement to explain (or give --all)")
        if explain_all and improvements:
            raise UsageError("give improvement ids or --all, not both")
        with clock.phase("solve"):  # building the model included
            found = explain_many(loaded, wanted, options=options, clock=clock,
                                 solve_limit=solve_time_limit)
        if as_json:
            _emit_json({**found.to_dict(), "timings": clock.summary()})
        else:
            out = stdout_console()
            if len(found.explanations) > 1 or found.skipped:
                for e in found.explanations:
                    out.print(f"{'*' if e.selected else ' '} {e.improvement}: {e.line}"
                              + ("" if e.proven else " [not proven: time limit]"),
                              markup=False)
                for imp in found.skipped:
                    out.print(f"  {imp}: not explained (no time left)", markup=False)
            else:
                _print_explanation(found.explanations[0], out)
        _warn(found.warnings)

    run(body, machine=as_json)


def _print_explanation(e: Explanation, out: Console) -> None:
    cur = e.currency

    def say(text: str) -> None:
        out.print(text, markup=False)

    say(f"{e.name} ({e.improvement}) is {'in' if e.selected else 'not in'} the optimal plan "
        f"({e.plan.status}; objective {e.plan.objective:,.2f}, expected gain "
        f"{money(e.plan.expected_gain, cur)}, cost {money(e.plan.cost, cur)}).")
    alt = e.alternative
    if alt is None:
        what = "left out" if e.selected else "forced in"
        say(f"It cannot be {what}: " + "; ".join(e.conflict) + ".")
    elif e.selected:
        say(f"Without it, the best plan ({alt.status}) gains {money(alt.expected_gain, cur)}: "
            f"lost without it {money(e.gain_lost or 0.0, cur)} (objective "
            f"{alt.objective:,.2f}; the plan re-optimized, so this is neither its gain in "
            "the plan's order nor its Shapley value).")
        say("  replaced by: " + (", ".join(e.comes_in) or "nothing"))
        if e.goes_out:
            say("  also leaving: " + ", ".join(e.goes_out))
    else:
        say(f"Forced in, the best plan ({alt.status}) gains {money(alt.expected_gain, cur)}: "
            f"{money(e.gain_lost or 0.0, cur)} less (objective {alt.objective:,.2f}).")
        say("  it displaces: " + (", ".join(e.goes_out) or "nothing"))
        if e.comes_in:
            say("  and brings in: " + ", ".join(e.comes_in))
    if e.moves:
        say("  starting in another period: " + ", ".join(e.moves))
    for o in e.obstacles:
        say(f"  kept out by {o.name or o.kind}: {o.detail}")
    # On a roadmap each id comes with its start period (id@period).
    say(f"plan: {', '.join(e.plan.keys) or 'nothing'}")
    if alt is not None:
        say(f"alternative: {', '.join(alt.keys) or 'nothing'}")


# -- sensitivity --------------------------------------------------------------------------------

@app.command()
def sensitivity(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    tolerance: Annotated[float, typer.Option(
        help="Bisection tolerance, as a share of each input's value.")] = 0.01,
    touchpoints: Annotated[int, typer.Option(
        help="How many of the touchpoints the plan changes most to examine.")] = 5,
    improvement: Annotated[list[str] | None, typer.Option(
        "--improvement", help="Examine only this improvement (repeatable).")] = None,
    budget: BudgetOpt = None,
    team: TeamOpt = None,
    time_limit: TimeLimitOpt = 60.0,
    solve_time_limit: SolveLimitOpt = None,
    time_budget: Annotated[float, typer.Option(
        "--time-budget", help="Seconds for the analysis after the plan (within "
        "--time-limit); unfinished ranges say so.")]
    = 600.0,
    gap: GapOpt = 1e-6,
) -> None:
    """How far costs, failure reductions and failure probabilities may move before the
    plan changes (a table and a tornado chart)."""

    def body() -> None:
        from cxplan.whatif.sensitivity import sensitivity as run_sensitivity

        clock = _clock(time_limit)
        options = _options(time_limit, gap, solve_time_limit)
        with clock.phase("read"):
            loaded = _limited(scenario, budget, team)
        check_outputs(report)
        if not as_json:
            stderr_console().print("examining ranges (each check is a solve)…", markup=False)
        with clock.phase("solve"):  # building the models included
            result = run_sensitivity(loaded, options=options, tolerance=tolerance,
                                     touchpoints=touchpoints, improvements=improvement,
                                     time_budget=time_budget, clock=clock,
                                     solve_limit=solve_time_limit)
        written: list[Path] = []
        with clock.phase("report"):
            if report is not None:
                from cxplan.report.whatif import write_sensitivity

                written = write_sensitivity(result, report)
        if as_json:
            _emit_json({**result.to_dict(), "timings": clock.summary()})
        else:
            _print_sensitivity(result, stdout_console())
        _warn(result.warnings)
        _wrote(written)

    run(body, machine=as_json)


def _print_sensitivity(s: Sensitivity, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cxplan.report.whatif import sensitivity_rows

    out.print(f"[bold]{escape(s.scenario)}[/bold] — plan unchanged within these ranges "
              f"({s.solves} solves in {s.seconds:.1f} s; closest to changing the decision "
              "first, ranges limited only by budget slack last)")
    table = Table(show_edge=False, header_style="bold")
    for col, justify in (("input", "left"), ("today", "right"), ("lowest", "right"),
                         ("highest", "right"), ("range", "right"), ("beyond", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in sensitivity_rows(s):
        table.add_row(*(escape(row[k]) for k in ("label", "now", "low", "high", "relative",
                                                  "beyond")))
    out.print(table)


# -- marginal values in `cxplan plan` -----------------------------------------------------------

def print_marginals(values: MarginalValues | None, plan: Plan, out: Console) -> None:
    """The plan summary's lines on marginal values and binding limits."""
    if values is None or not values.values:
        return
    cur = plan.currency
    # A roadmap's budget step raises every period's money in proportion (its total is
    # the level); a team's person is one more in every period.
    horizon = " over the horizon" if plan.horizon is not None else ""
    every = " in every period" if plan.horizon is not None else ""
    parts = []
    for v in values.values:
        if v.limit == "budget":
            step = (f"{values.budget_step} more budget{horizon}"
                    if values.budget_step.endswith("%")
                    else f"{money(v.step, cur)} more budget{horizon}")
            part = f"{step} ({money(v.step, cur, sign=True)}): {money(v.gain, cur, sign=True)}"
            if v.gain > 0:
                part += f" ({v.per_unit:,.3g} per {cur or 'unit'})"
        elif v.lifted:
            part = f"without {v.label}: {money(v.gain, cur, sign=True)}"
        elif v.status == Status.UNUSED:
            part = f"one more in {v.limit[5:]}: no improvement needs this team"
        else:
            part = f"one more in {v.limit[5:]}{every}: {money(v.gain, cur, sign=True)}"
        if not v.solved:
            part += (f" to {money(v.gain_bound, cur, sign=True)} (proven range from the LP's "
                     "dual values; no time to re-solve)" if v.gain_bound is not None
                     else " (not re-solved: no time)")
        elif v.status in (Status.TIME_LIMIT, Status.GAP_LIMIT):
            part += (f" to {money(v.gain_bound, cur, sign=True)} (proven range; the re-solve "
                     "stopped early)" if v.gain_bound is not None
                     else " (at least; the re-solve stopped early)")
        parts.append(part)
    out.print("marginal values: " + "; ".join(parts), markup=False)
    binding = ", ".join(v.label for v in values.values if v.binding)
    out.print(f"binding limits: {binding or 'none (more of any limit would not help)'}",
              markup=False)

