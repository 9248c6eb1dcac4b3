"""`cxplan plan`: solve and print, write reports, export the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    pct,
    run,
    solver_progress,
    stderr_console,
    stdout_console,
)
from cxplan.core.status import Status

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.core.results import ImprovementResult, Plan


@app.command()
def plan(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write HTML and Markdown reports to this folder.")] = None,
    budget: Annotated[str | None, typer.Option(
        help="Override the scenario's budget: an amount (25000, 25,000, 500k, 1.5M) or a "
        "share of it (110%).")] = None,
    team: Annotated[list[str] | None, typer.Option(
        "--team", help="Override a team's capacity, NAME=N or NAME=120% (repeatable).")] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds; past it the best plan found is returned with its gap.")
    ] = 60.0,
    gap: Annotated[float, typer.Option(help="Relative optimality gap to stop at.")] = 1e-6,
    threads: Annotated[int, typer.Option(help="Solver threads.")] = 1,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="Folder with templates overriding the built-in ones.")] = None,
    lp: Annotated[Path | None, typer.Option(
        "--lp", help="Also write the optimization model to this LP file.")] = None,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="Also write the plan as an Excel workbook (.xlsx).")] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress lines on stderr during long solves.")] = False,
    no_marginals: Annotated[bool, typer.Option(
        "--no-marginals", help="Skip the marginal values (one re-solve per limit).")] = False,
    no_shapley: Annotated[bool, typer.Option(
        "--no-shapley", help="Skip the Shapley values (each funded improvement's share "
        "of the gain, whatever the order).")] = False,
    budget_step: Annotated[str, typer.Option(
        "--budget-step", help="Budget step for its marginal value: a share (10%) or an "
        "amount.")] = "10%",
) -> None:
    """Find the optimal set of improvements and print (or write) the plan."""

    def body() -> None:
        from cxplan.api import apply_limits, optimize
        from cxplan.clock import command_clock
        from cxplan.optimizer.options import SolverOptions

        # --time-limit is for the whole command: starting and reading the file count too.
        clock = command_clock(time_limit)
        with clock.phase("read"):
            loaded = load(scenario)
            limited = apply_limits(loaded, budget, parse_teams(team or []))
        targets = [path for path in (lp, xlsx) if path is not None]
        if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
            from cxplan.errors import UsageError

            raise UsageError(f"--xlsx {xlsx}: the workbook's name must end in .xlsx")
        if report is not None:
            from cxplan.report.write import report_paths

            targets += report_paths(loaded, report)
        check_outputs(report, targets)
        with solver_progress(not quiet) as progress:
            result = optimize(limited, options=SolverOptions(time_limit=time_limit, gap=gap,
                                                    threads=threads),
                              export_lp=lp, progress=progress,
                              marginals=not no_marginals, budget_step=budget_step,
                              shapley=not no_shapley, clock=clock)
        written: list[Path] = []
        if report is not None:
            from cxplan.report.write import write_reports

            with clock.phase("report"):
                written = write_reports(result, limited, report, templates_dir=templates)
        if xlsx is not None:
            from cxplan.report.workbook import write_plan_workbook

            with clock.phase("report"):
                written.append(write_plan_workbook(result, limited, xlsx))
        if as_json:
            emit(json.dumps({**result.to_dict(), "timings": clock.summary()},
                            allow_nan=False) + "\n")
        else:
            _print_plan(result, stdout_console())
        err = stderr_console()
        for warning in loaded.warnings:
            err.print("warning: " + warning.format(), markup=False)
        for note in result.warnings[len(loaded.warnings):]:  # the plan's own
            err.print("warning: " + note, markup=False)
        if result.status == Status.TIME_LIMIT:
            # Without a bound (the root relaxation unfinished) nothing is proven.
            err.print("warning: time limit reached; " + (
                f"the plan is within {pct(result.gap)} of optimal (proven)."
                if result.gap is not None and result.gap != float("inf")
                else "the solver proved no bound yet, so how far the plan is from optimal "
                     "is unknown (raise --time-limit)."), markup=False)
        for path in written:
            err.print(f"wrote {path}", markup=False)

    run(body, machine=as_json)


def _print_plan(result: Plan, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    cur = result.currency
    status = ("proven optimal" if result.status == Status.OPTIMAL
              else f"stopped at the requested gap, within {pct(result.gap)} of optimal"
              if result.status == Status.GAP_LIMIT
              else f"time limit reached, within {pct(result.gap)} of optimal")
    out.print(f"[bold]{escape(result.scenario)}[/bold] — {len(result.selected)} improvements, "
              f"{status}")
    if result.horizon is not None:
        _print_roadmap(result, out)
        return
    table = Table(show_edge=False, header_style="bold")
    fair = _fair_columns(result)
    for col, justify in (("#", "right"), ("improvement", "left"), ("owner", "left"),
                         ("cost", "right"), ("staff", "left"), ("gain in this order", "right"),
                         *((name, "right") for name in fair)):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for imp in result.improvements:
        staff = ", ".join(f"{k} {v:g}" for k, v in imp.staff.items()) or "-"
        table.add_row(str(imp.rank), escape(imp.id), escape(imp.owner or "-"),
                      money(imp.cost, cur), escape(staff), money(imp.gain, cur),
                      *_fair_cells(result, imp))
    if result.improvements:
        out.print(table)
        _print_fair_note(result, out)
    else:
        out.print("Nothing is worth funding under these constraints.")
    budget = f" of {money(result.budget, cur)}" if result.budget is not None else ""
    out.print(escape(f"cost {money(result.cost, cur)}{budget}; staff "
              + (", ".join(f"{k} {v:g}/{result.teams[k]:g}" for k, v in result.staff_used.items())
                 or "none")))
    out.print(f"expected gain [bold]{money(result.expected_gain, cur, sign=True)}[/bold] a "
              "period" + _over_customers(result))
    _print_breakdown(result, out, "period")
    if len(result.criteria) > 1:
        for c in result.criteria.values():
            out.print(escape(f"  {c.name} (weight {c.weight:g}): {c.value:,.4g} {c.unit}"))
    from cxplan.cli.whatif import print_marginals

    print_marginals(result.marginals, result, out)


def _fair_columns(result: Plan) -> tuple[str, ...]:
    """The columns after "gain in this order": the Shapley value and its share of the gain
    (or the order's share without one), and pay-back with `economics`."""
    if result.shapley is None:
        return ("share",)
    return ("Shapley value", "share",
            *(("pays back", "return") if result.economics is not None else ()))


def _fair_cells(result: Plan, imp: ImprovementResult) -> tuple[str, ...]:
    from cxplan.report.fair import fair_share

    fair = fair_share(result, imp)
    if result.shapley is None or fair is None:
        return (f"{100 * imp.share:.1f} %",)
    value = money(fair.value, result.currency)
    if fair.error is not None:
        value += f" ± {money(fair.error, None)}"
    cells: tuple[str, ...] = (value, f"{100 * fair.share:.1f} %")
    if result.economics is not None:
        roc = "-" if fair.return_on_cost is None else f"{100 * fair.return_on_cost:+,.0f} %"
        cells = (*cells, fair.payback or "-", roc)
    return cells


def _print_fair_note(result: Plan, out: Console) -> None:
    if result.shapley is None:
        out.print("gain in this order: what each adds after those above it (they add up "
                  "to the gain)")
        return
    how = ("exact" if result.shapley["method"] == "exact"
           else f"sampled over {result.shapley['orders']:,} orders, ± one standard error")
    out.print(f"gain in this order: what each adds after those above it; Shapley value: "
              f"what it adds on average over every order ({how}); both add up to the gain"
              + ("; pays back: periods until its Shapley value repays its cost; return: "
                 "(value over the horizon - cost) / cost" if result.economics else ""),
              markup=False)


def _over_customers(result: Plan) -> str:
    b = result.breakdown
    return f" (over {b.customers:,.0f} customers)" if b is not None else ""


def _print_breakdown(result: Plan, out: Console, period: str) -> None:
    """What the plan changes in one period: failures, their cost, successful steps, and
    the net value (which may be negative: it is successes minus the cost of failures)."""
    from rich.markup import escape

    b = result.breakdown
    cur = result.currency
    if b is None:
        return
    out.print(escape(f"  failures {b.failures.before:,.0f} -> {b.failures.after:,.0f} "
                     f"({b.failures_avoided:,.0f} avoided), of which abandon "
                     f"{b.abandonments.before:,.0f} -> {b.abandonments.after:,.0f}"))
    out.print(escape(f"  cost of failures {money(b.failure_cost.before, cur)} -> "
                     f"{money(b.failure_cost.after, cur)} "
                     f"({money(b.failure_cost.change, cur, sign=True)})"))
    if b.success_value.before or b.success_value.after:
        out.print(escape(f"  value of successful steps {money(b.success_value.before, cur)} -> "
                         f"{money(b.success_value.after, cur)} "
                         f"({money(b.success_value.change, cur, sign=True)})"))
    out.print(escape(f"  net value (successes - cost of failures) "
                     f"{money(b.success_value.before - b.failure_cost.before, cur)} -> "
                     f"{money(b.success_value.after - b.failure_cost.after, cur)}"
                     + (f" a {period}" if period else "")))


def _print_roadmap(result: Plan, out: Console) -> None:
    """The roadmap: each improvement's timeline, then money, staff and value per period."""
    from rich.markup import escape
    from rich.table import Table

    assert result.horizon is not None
    cur = result.currency
    periods = result.periods
    label = result.horizon["label"] + ("s" if len(periods) != 1 else "")
    out.print(f"Roadmap over {len(periods)} {escape(label)} "
              f"(work █, paying off ─; discount rate {result.horizon['discount_rate']:g} "
              "per period)")
    table = Table(show_edge=False, header_style="bold")
    for col, justify in (("improvement", "left"), ("owner", "left"), ("start", "right"),
                         ("finish", "right"), ("timeline", "left"), ("cost", "right"),
                         ("gain in this order", "right"),
                         *((name, "right") for name in _fair_columns(result))):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for imp in result.improvements:
        assert imp.start is not None and imp.finish is not None
        line = "".join("█" if imp.start <= p.period <= imp.finish
                       else "─" if p.period > imp.finish else "·" for p in periods)
        table.add_row(escape(imp.id), escape(imp.owner or "-"), periods[imp.start - 1].name,
                      periods[imp.finish - 1].name, line, money(imp.cost, cur),
                      money(imp.gain, cur), *_fair_cells(result, imp))
    if result.improvements:
        out.print(table)
        _print_fair_note(result, out)
    else:
        out.print("Nothing is worth scheduling under these constraints.")
    per_period = Table(show_edge=False, header_style="bold")
    teams = list(result.teams)
    for col in ("period", "starting", "spend", *teams, "gain", "cumulative"):
        per_period.add_column(col, justify="left" if col in ("period", "starting") else "right")
    for p in periods:
        spend = money(p.spend, cur) + (f" / {money(p.budget, cur)}" if p.budget is not None
                                      else "")
        per_period.add_row(
            escape(p.name), escape(", ".join(p.starting) or "-"), spend,
            *(f"{p.staff[t]:g}/{p.capacity[t]:g}" for t in teams),
            money(p.gain, cur), money(p.cumulative_gain, cur))
    out.print(per_period)
    budget = f" of {money(result.budget, cur)}" if result.budget is not None else ""
    out.print(escape(f"cost {money(result.cost, cur)}{budget} over the horizon"))
    gain = money(result.expected_gain, cur, sign=True)
    discounted = ", discounted" if result.horizon["discount_rate"] else ""
    counted = " and after it" if result.horizon.get("after_horizon_periods") else ""
    out.print(f"expected gain over the horizon{counted} [bold]{gain}[/bold]{discounted}")
    from cxplan.report.roadmap import after_horizon, plural

    label = str(result.horizon["label"])
    out.print(escape(after_horizon(result.horizon, label, plural(label), cur)))
    out.print(f"once all work pays off, a {escape(result.horizon['label'])}"
              + _over_customers(result) + ":")
    _print_breakdown(result, out, result.horizon["label"])
    if len(result.criteria) > 1:
        for c in result.criteria.values():
            out.print(escape(f"  {c.name} (weight {c.weight:g}): {c.value:,.4g} {c.unit}"))
    from cxplan.cli.whatif import print_marginals

    print_marginals(result.marginals, result, out)
