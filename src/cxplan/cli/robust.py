"""`cxplan robust` (plans under uncertain inputs, cxplan.robustness) and `cxplan alternatives`
(near-optimal plans that differ, cxplan.whatif.alternatives)."""

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
    run,
    stderr_console,
    stdout_console,
)

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.robustness.analysis import RobustResult


@app.command()
def robust(
    scenario: ScenarioArg,
    samples: Annotated[int, typer.Option("--samples", help="Draws of the uncertain inputs.",
                                         show_default=False)],
    seed: Annotated[int | None, typer.Option(
        help="Seed of the draws (default: a random one, printed); the same seed gives the "
        "same result whatever runs the draws.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: the cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS",
        help="Send the draws to this Dask scheduler (tcp://HOST:8786) instead.")] = None,
    objective: Annotated[str, typer.Option(
        help="The robust plan maximizes the sample's mean gain, or its CVaR at ALPHA (the "
        "mean of the worst ALPHA share of draws): mean | cvar:ALPHA.")] = "mean",
    sampler: Annotated[str, typer.Option(help="random | lhs | sobol")] = "random",
    save_samples: Annotated[Path | None, typer.Option(
        "--save-samples", metavar="FILE", help="Write the draws as JSON.")] = None,
    as_json: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write HTML and Markdown reports to this folder.")] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds for the whole command.")] = 600.0,
    alternatives: Annotated[int, typer.Option(
        "--alternatives", metavar="K", help="Also value K near-optimal alternatives (at the "
        "means: `cxplan alternatives`) on the fresh draws.")] = 0,
    within: Annotated[str, typer.Option(
        "--within", help="With --alternatives: the share of the optimum they may give up.")]
    = "2%",
    differ: Annotated[int, typer.Option(
        "--differ", help="With --alternatives: improvements each differs in.")] = 1,
) -> None:
    """How the plan holds when the numbers are off: every draw's optimal plan, the nominal
    plan's gain and regret, and a robust plan."""

    def body() -> None:
        import contextlib

        from cxplan.errors import UsageError
        from cxplan.robustness.analysis import robust as run_robust
        from cxplan.robustness.executors import dask_executor

        if scheduler is not None and workers is not None:
            raise UsageError("--workers is for local runs; a Dask cluster has its own")
        loaded = load(scenario)
        check_outputs(report, [save_samples] if save_samples is not None else [])
        compare: list[tuple[str, ...]] = []
        if alternatives:
            from cxplan.whatif.alternatives import alternatives as find

            # the first is the nominal plan, valued already
            found = find(loaded, count=alternatives + 1, within=within, differ=differ)
            compare = [plan.selected for plan in found.plans[1:]]
        cluster = (dask_executor(scheduler, min(20.0, time_limit)) if scheduler
                   else contextlib.nullcontext((None, workers)))
        with cluster as (executor, count):
            result = run_robust(loaded, samples=samples, seed=seed, sampler=sampler,
                                objective=objective, executor=executor, workers=count,
                                time_limit=time_limit, compare=compare)
        written: list[Path] = []
        if save_samples is not None:
            from cxplan.files import write_atomic

            written += write_atomic({save_samples: json.dumps(
                result.saved_draws(), allow_nan=False) + "\n"})
        if report is not None:
            from cxplan.report.robust import write_robust

            written += write_robust(result, report)
        if as_json:
            emit(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        else:
            _print_robust(result, stdout_console())
        err = stderr_console()
        for warning in result.warnings:
            err.print(f"warning: {warning}", markup=False)
        for path in written:
            err.print(f"wrote {path}", markup=False)

    run(body, machine=as_json)


def _print_robust(r: RobustResult, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    data = r.to_dict()
    cur = r.nominal.currency
    out.print(escape(f"{r.scenario}: {r.samples} draws ({r.sampler}, seed {r.seed}), "
                     f"{data['distinct_plans']} distinct optimal plans"))
    table = Table(show_edge=False, header_style="bold", title="How often each improvement "
                  "is in a draw's optimal plan")
    for head in ("improvement", "share", "95 % interval", "nominal", "robust"):
        table.add_column(head, justify="left" if head == "improvement" else "right")
    nominal, chosen = set(r.nominal.selected), set(r.robust_in_sample.selected)
    for imp, share in sorted(r.frequency.items(), key=lambda kv: -kv[1].value):
        low, high = share.interval
        table.add_row(escape(imp), f"{100 * share.value:.1f} %",
                      f"{100 * low:.1f}–{100 * high:.1f} %", "yes" if imp in nominal else "",
                      "yes" if imp in chosen else "")
    out.print(table)
    gain = data["nominal"]["gain"]
    out.print(f"nominal plan: gain mean {money(gain['mean'], cur)} (sd {money(gain['sd'], cur)}"
              f"), P5 {money(gain['p5'], cur)}, P50 {money(gain['p50'], cur)}, "
              f"P95 {money(gain['p95'], cur)}")
    regret = data["nominal"]["regret"]
    out.print(f"  regret against each draw's optimum: mean {money(regret['mean'], cur)}, "
              f"P90 {money(regret['p90'], cur)}; within 1 % of the optimum in "
              f"{100 * data['nominal']['within_1pct']:.1f} % of draws")
    rob = data["robust"]
    out.print(escape(f"robust plan ({rob['objective']}, {rob['method']}): "
                     + (", ".join(rob["selected"]) or "nothing")))
    named = [("nominal", data["nominal"]["out_of_sample"]), ("robust", rob["out_of_sample"])]
    named += [(f"alternative {k} ({', '.join(alt['selected']) or 'nothing'})",
               alt["out_of_sample"]) for k, alt in enumerate(data.get("alternatives", []),
                                                             start=2)]
    for label, part in named:
        low, high = part["ci"]
        out.print(escape(f"  out of sample, {label}: mean {money(part['mean'], cur)} "
                         f"(95 % CI {money(low, cur)} – {money(high, cur)})"))


@app.command()
def alternatives(
    scenario: ScenarioArg,
    count: Annotated[int, typer.Option("--count", help="How many plans, the best included.")]
    = 3,
    within: Annotated[str, typer.Option(
        "--within", help="Share of the optimum an alternative may give up: 2% or 0.02.")]
    = "2%",
    differ: Annotated[int, typer.Option(
        "--differ", help="Improvements in which each plan differs from every earlier one "
        "(added or dropped).")] = 1,
    as_json: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write an HTML page with the plans side by side to this folder.")]
    = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds per solve.")] = 60.0,
) -> None:
    """Near-optimal plans that really differ: the best, then the best at a distance from
    all earlier ones, each proven optimal under that rule."""

    def body() -> None:
        from cxplan.optimizer.options import SolverOptions
        from cxplan.whatif.alternatives import alternatives as find

        loaded = load(scenario)
        check_outputs(report)
        found = find(loaded, count=count, within=within, differ=differ,
                     options=SolverOptions(time_limit=time_limit))
        written: list[Path] = []
        if report is not None:
            from cxplan.report.whatif import write_alternatives

            written = write_alternatives(found, report)
        if as_json:
            emit(json.dumps(found.to_dict(), allow_nan=False) + "\n")
        else:
            out = stdout_console()
            cur = found.currency
            out.print(f"{len(found.plans)} plans within {100 * found.within:g} % of the "
                      f"optimum, each differing from every earlier one in at least "
                      f"{found.differ} improvement(s) (stopped: {found.stopped})",
                      markup=False)
            for k, plan in enumerate(found.plans, start=1):
                change = "the optimum" if k == 1 else (
                    "adds " + (", ".join(plan.added) or "nothing") + "; drops "
                    + (", ".join(plan.dropped) or "nothing"))
                out.print(f"{k}. gain {money(plan.expected_gain, cur)}, cost "
                          f"{money(plan.cost, cur)} [{plan.status.value}]: {change}",
                          markup=False)
        for path in written:
            stderr_console().print(f"wrote {path}", markup=False)

    run(body, machine=as_json)
