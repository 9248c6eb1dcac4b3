"""The `cxplan` command line.

Heavy libraries (numpy, scipy, PuLP, HiGHS, networkx) are imported inside the
commands, so that `cxplan --help` answers at once. Every deliberate error is a
`CxplanError` with an exit code (2 invalid input, 3 infeasible, 4 plugin);
anything else is a bug, reported in one line unless CXPLAN_DEBUG=1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cxplan import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.api import SelectionValue
    from cxplan.plan import Plan
    from cxplan.scenario import Scenario

# Small solves ran 10-30x slower with multithreaded BLAS on 2 cores (DESIGN.md).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

EXAMPLES = """
Examples:

  cxplan plan scenarios/microfinance-onboarding.yaml --report reports/

  cxplan plan scenarios/airline-trip.yaml --json --budget 500000 --team it=8

  cxplan evaluate scenarios/restaurant.yaml --select online-booking,kitchen-display

  cxplan validate my-scenario.yaml
"""

app = typer.Typer(
    name="cxplan",
    help="Which customer-experience improvements to fund, provably optimally.\n" + EXAMPLES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

T = TypeVar("T")

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).",
                                             show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    from rich.console import Console

    # Piped or redirected output is read in files and logs, not an 80-column terminal.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _run(action: Callable[[], T]) -> T:
    """Run a command body, turning cxplan's errors into messages and exit codes."""
    from cxplan.errors import CxplanError, ScenarioError

    try:
        return action()
    except ScenarioError as exc:
        err = _stderr()
        for problem in exc.problems:
            err.print(problem.format(), markup=False)
        for warning in exc.warnings:
            err.print("warning: " + warning.format(), markup=False)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.",
                  markup=False)
        raise typer.Exit(exc.exit_code) from None
    except CxplanError as exc:
        _stderr().print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _stderr().print("interrupted; nothing was written.", markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if os.environ.get("CXPLAN_DEBUG"):
            raise
        _stderr().print(f"internal error: {type(exc).__name__}: {exc}\n"
                        "This is a bug in cxplan; run again with CXPLAN_DEBUG=1 for details "
                        "and please report it with the scenario.", markup=False)
        raise typer.Exit(1) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxplan {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """cxplan: optimal customer-experience improvement plans."""


def _load(path: Path) -> Scenario:
    from cxplan.validate import load_scenario

    return load_scenario(path)


def _parse_teams(values: list[str]) -> dict[str, float]:
    from cxplan.errors import UsageError

    teams: dict[str, float] = {}
    for item in values:
        name, sep, number = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            teams[name.strip()] = float(number)
        except ValueError:
            raise UsageError(f"--team expects NAME=N (for example it=6), got {item!r}") from None
    return teams


@app.command()
def plan(
    scenario: ScenarioArg,
    as_json: JsonOpt = False,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write HTML and Markdown reports to this folder.")] = None,
    budget: Annotated[float | None, typer.Option(help="Override the scenario's budget.")] = None,
    team: Annotated[list[str] | None, typer.Option(
        "--team", help="Override a team's capacity, NAME=N (repeatable).")] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds; past it the best plan found is returned with its gap.")
    ] = 60.0,
    gap: Annotated[float, typer.Option(help="Relative optimality gap to stop at.")] = 1e-6,
    threads: Annotated[int, typer.Option(help="Solver threads.")] = 1,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="Folder with templates overriding the built-in ones.")] = None,
    lp: Annotated[Path | None, typer.Option(
        "--lp", help="Also write the optimization model to this LP file.")] = None,
) -> None:
    """Find the optimal set of improvements and print (or write) the plan."""

    def body() -> None:
        from cxplan.api import optimize
        from cxplan.solve import SolverOptions

        loaded = _load(scenario)
        result = optimize(loaded, budget=budget, teams=_parse_teams(team or []),
                          options=SolverOptions(time_limit=time_limit, gap=gap, threads=threads),
                          export_lp=lp)
        written: list[Path] = []
        if report is not None:
            from cxplan.report import write_reports

            written = write_reports(result, loaded.with_limits(budget, _parse_teams(team or [])),
                                    report, templates_dir=templates)
        if as_json:
            sys.stdout.write(json.dumps(result.to_dict(), allow_nan=False) + "\n")
        else:
            _print_plan(result, _stdout())
        err = _stderr()
        for warning in loaded.warnings:
            err.print("warning: " + warning.format(), markup=False)
        if result.status == "time_limit":
            err.print(f"warning: time limit reached; the plan is within "
                      f"{_pct(result.gap)} of optimal (proven).", markup=False)
        for path in written:
            err.print(f"wrote {path}", markup=False)

    _run(body)


@app.command()
def validate(scenario: ScenarioArg, as_json: JsonOpt = False) -> None:
    """Check a scenario and print every problem (exit code 2 if there are any)."""

    def body() -> None:
        from cxplan.errors import ScenarioError

        try:
            loaded = _load(scenario)
        except ScenarioError as exc:
            if as_json:
                sys.stdout.write(json.dumps({"valid": False, "problems": [
                    _problem_dict(p) for p in exc.problems + exc.warnings]}) + "\n")
                raise typer.Exit(2) from None
            raise
        if as_json:
            sys.stdout.write(json.dumps({"valid": True, "problems": [
                _problem_dict(p) for p in loaded.warnings]}) + "\n")
            return
        out = _stdout()
        for warning in loaded.warnings:
            out.print("warning: " + warning.format(), markup=False)
        out.print(f"{scenario}: valid ({len(loaded.touchpoints)} touchpoints, "
                  f"{len(loaded.improvements)} improvements, {len(loaded.persona_list)} "
                  f"persona{'s' if len(loaded.persona_list) != 1 else ''})", markup=False)

    _run(body)


def _problem_dict(problem: Any) -> dict[str, Any]:
    return {"file": problem.file, "location": problem.location, "message": problem.message,
            "hint": problem.hint, "line": problem.line, "severity": problem.severity}


@app.command()
def evaluate(
    scenario: ScenarioArg,
    select: Annotated[str, typer.Option(
        "--select", help="Comma-separated improvement ids (empty: the baseline).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Exact expected value of a given selection, without optimizing."""

    def body() -> None:
        from cxplan.api import evaluate as evaluate_selection

        loaded = _load(scenario)
        ids = [s.strip() for s in select.split(",") if s.strip()]
        value = evaluate_selection(loaded, ids)
        if as_json:
            sys.stdout.write(json.dumps(_selection_dict(value), allow_nan=False) + "\n")
        else:
            _print_selection(value, loaded, _stdout())

    _run(body)


def _selection_dict(value: SelectionValue) -> dict[str, Any]:
    return {
        "scenario": value.scenario, "selected": list(value.selected),
        "expected_gain": value.expected_gain, "baseline_value": value.baseline_value,
        "planned_value": value.planned_value, "cost": value.cost,
        "staff_used": value.staff_used, "feasible": value.feasible,
        "violations": list(value.violations),
    }


def _money(value: float, currency: str | None) -> str:
    return f"{value:,.0f} {currency}" if currency else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    if value is None:
        return "an unknown margin"
    return f"{100 * value:.4g} %"


def _print_plan(result: Plan, out: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    cur = result.currency
    status = ("proven optimal" if result.status == "optimal"
              else f"time limit reached, within {_pct(result.gap)} of optimal")
    out.print(f"[bold]{escape(result.scenario)}[/bold] — {len(result.selected)} improvements, "
              f"{status}")
    table = Table(show_edge=False, header_style="bold")
    for col, justify in (("#", "right"), ("improvement", "left"), ("owner", "left"),
                         ("cost", "right"), ("staff", "left"), ("gain", "right"),
                         ("share", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for imp in result.improvements:
        staff = ", ".join(f"{k} {v:g}" for k, v in imp.staff.items()) or "-"
        table.add_row(str(imp.rank), escape(imp.id), escape(imp.owner or "-"),
                      _money(imp.cost, cur), escape(staff), _money(imp.gain, cur),
                      f"{100 * imp.share:.1f} %")
    if result.improvements:
        out.print(table)
    else:
        out.print("Nothing is worth funding under these constraints.")
    budget = f" of {_money(result.budget, cur)}" if result.budget is not None else ""
    out.print(escape(f"cost {_money(result.cost, cur)}{budget}; staff "
              + (", ".join(f"{k} {v:g}/{result.teams[k]:g}" for k, v in result.staff_used.items())
                 or "none")))
    out.print(f"value {_money(result.baseline_value, cur)} -> {_money(result.planned_value, cur)}"
              f"  (expected gain [bold]{_money(result.expected_gain, cur)}[/bold])")
    if len(result.criteria) > 1:
        for c in result.criteria.values():
            out.print(escape(f"  {c.name} (weight {c.weight:g}): {c.value:,.4g} {c.unit}"))


def _print_selection(value: SelectionValue, scenario: Scenario, out: Console) -> None:
    from rich.markup import escape

    cur = scenario.currency
    chosen = ", ".join(value.selected) or "nothing (baseline)"
    out.print(escape(f"{value.scenario} — selection: {chosen}"))
    out.print(f"value {_money(value.baseline_value, cur)} -> {_money(value.planned_value, cur)}"
              f"  (expected gain {_money(value.expected_gain, cur)})")
    out.print(escape(f"cost {_money(value.cost, cur)}; staff "
              + (", ".join(f"{k} {v:g}" for k, v in value.staff_used.items()) or "none")))
    if value.feasible:
        out.print("feasible: respects budget, teams, requires, excludes and mandatory")
    else:
        out.print("[bold]not feasible[/bold]: " + escape("; ".join(value.violations)))


def main() -> None:
    """Console-script entry point."""
    app()

if __name__ == "__main__":
    main()
