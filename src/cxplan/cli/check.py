"""`cxplan validate`, `evaluate` and `schema`: check a scenario, price a given selection,
print the format."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxplan.cli.common import (
    JsonOpt,
    ScenarioArg,
    app,
    emit,
    load,
    money,
    run,
    stdout_console,
)

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.api import SelectionValue
    from cxplan.scenario.models import Scenario


@app.command()
def validate(scenario: ScenarioArg, as_json: JsonOpt = False) -> None:
    """Check a scenario and print every problem (exit code 2 if there are any)."""

    def body() -> None:
        from cxplan.errors import ScenarioError

        try:
            loaded = load(scenario)
        except ScenarioError as exc:
            if as_json:
                emit(json.dumps({"valid": False, "problems": [
                    _problem_dict(p) for p in exc.problems + exc.warnings]}) + "\n")
                raise typer.Exit(2) from None
            raise
        from cxplan.core.journey import build_journey

        means = loaded.uncertainty.described()
        completion = build_journey(loaded).completion_shares()
        if as_json:
            emit(json.dumps({"valid": True, "problems": [
                _problem_dict(p) for p in loaded.warnings], "completion": [
                    {"persona": persona, "touchpoint": tp, "share": share}
                    for persona, tp, share in completion], **({"means": [
                    {"location": place, "distribution": text, "mean": mean}
                    for place, text, mean in means]} if means else {})}) + "\n")
            return
        out = stdout_console()
        for warning in loaded.warnings:
            out.print("warning: " + warning.format(), markup=False)
        out.print(f"{scenario}: valid ({len(loaded.touchpoints)} touchpoints, "
                  f"{len(loaded.improvements)} improvements, {len(loaded.persona_list)} "
                  f"persona{'s' if len(loaded.persona_list) != 1 else ''})", markup=False)
        if completion:
            _print_completion(completion, out)
        if means:
            out.print(f"{len(means)} uncertain input{'s' if len(means) != 1 else ''}; plan, "
                      "frontier and the other deterministic commands use their means "
                      "(`cxplan robust` draws them):", markup=False)
            for place, text, mean in means:
                out.print(f"  {place}: {text}, mean {mean:.6g}", markup=False)

    run(body, machine=as_json)


@app.command()
def schema(
    core: Annotated[bool, typer.Option(
        "--core", help="The format alone, without the installed plugins' sections (the "
        "published docs/scenario.schema.json).")] = False,
) -> None:
    """Print the scenario format as a JSON Schema, with the installed plugins' sections
    under `extensions` (for editors; see docs/scenario.schema.json)."""

    def body() -> None:
        from cxplan.scenario.schema import scenario_schema

        if core:
            printed = scenario_schema()
        else:
            from cxplan.plugins.manager import get_plugin_manager

            manager = get_plugin_manager()
            printed = scenario_schema(manager.scenario_sections(), manager.section_owners())
        emit(json.dumps(printed, indent=2) + "\n")

    run(body, machine=True)


def _problem_dict(problem: Any) -> dict[str, Any]:
    return {"file": problem.file, "location": problem.location, "message": problem.message,
            "hint": problem.hint, "line": problem.line, "severity": problem.severity}


@app.command()
def evaluate(
    scenario: ScenarioArg,
    select: Annotated[str, typer.Option(
        "--select", help="Comma-separated improvement ids (empty: the baseline); with a "
        "horizon, id@period for each (its start period).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Exact expected value of a given selection, without optimizing."""

    def body() -> None:
        from cxplan.api import evaluate as evaluate_selection

        loaded = load(scenario)
        ids = [s.strip() for s in select.split(",") if s.strip()]
        value = evaluate_selection(loaded, ids)
        if as_json:
            emit(json.dumps(_selection_dict(value), allow_nan=False) + "\n")
        else:
            _print_selection(value, loaded, stdout_console())

    run(body, machine=as_json)


def _selection_dict(value: SelectionValue) -> dict[str, Any]:
    return {
        "scenario": value.scenario, "selected": list(value.selected),
        "expected_gain": value.expected_gain, "baseline_value": value.baseline_value,
        "planned_value": value.planned_value, "cost": value.cost,
        "staff_used": value.staff_used, "feasible": value.feasible,
        "violations": list(value.violations),
        **({"schedule": value.schedule} if value.schedule is not None else {}),
    }


def _print_selection(value: SelectionValue, scenario: Scenario, out: Console) -> None:
    from rich.markup import escape

    cur = scenario.currency
    chosen = ", ".join(value.selected) or "nothing (baseline)"
    if value.schedule is not None:
        chosen = ", ".join(f"{i} from period {s}" for i, s in value.schedule.items()) \
            or "nothing (baseline)"
    out.print(escape(f"{value.scenario} — selection: {chosen}"))
    out.print(f"value {money(value.baseline_value, cur)} -> {money(value.planned_value, cur)}"
              f"  (expected gain {money(value.expected_gain, cur)})")
    out.print(escape(f"cost {money(value.cost, cur)}; staff "
              + (", ".join(f"{k} {v:g}" for k, v in value.staff_used.items()) or "none")))
    if value.schedule is not None:
        out.print("(over the horizon, discounted; staff is the busiest period's)")
    if value.feasible:
        out.print("feasible: respects budget, teams, requires, excludes and mandatory"
                  + (", per period and within the start windows"
                     if value.schedule is not None else ""))
    else:
        out.print("[bold]not feasible[/bold]: " + escape("; ".join(value.violations)))


def _print_completion(completion: list[tuple[str, str, float]], out: Console) -> None:
    """Where the out-edges leave a remainder: it counts as completing the journey."""
    from cxplan.text import format_percent

    shares: dict[str, list[float]] = {}
    for _, touchpoint, share in completion:
        shares.setdefault(touchpoint, []).append(share)
    shown = [f"{tp} {format_percent(min(v))}" + (
        f"–{format_percent(max(v))}" if max(v) - min(v) > 1e-9 else "")
        for tp, v in shares.items()]
    out.print(f"journey completed after {len(shares)} touchpoint"
              f"{'s' if len(shares) != 1 else ''} for the share no edge takes (of those who "
              f"carry on): {', '.join(shown[:8])}" + (f" and {len(shown) - 8} more"
                                                      if len(shown) > 8 else "")
              + "; give an edge to an abandonment touchpoint if they leave instead",
              markup=False)
