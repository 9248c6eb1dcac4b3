"""Touchpoint importance (`cxplan importance`): removal effects, attributed completions and
the value lost, held to a brute-force recomputation with each touchpoint removed."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest

from cxplan.core.importance import importance
from cxplan.core.journey import build_journey
from cxplan.load import load_scenario

from random_scenarios import _persona_data, exact_value, random_scenario


def completion(sc: dict[str, Any]) -> tuple[float, float]:
    """(expected completions, customers) straight from docs/model.md: completing after t is
    the remainder of t's out-edges, for the customers who carry on."""
    completions = customers = 0.0
    for persona in sc.get("personas") or [None]:
        d = _persona_data(sc, persona)
        retention = 1 - d["failure_probability"] * d["dropout"]
        a = np.eye(len(retention)) - (d["P"] * retention[:, None]).T
        visits = np.linalg.solve(a, d["e"])
        after = retention * (1 - d["P"].sum(axis=1))
        completions += d["customers"] * float(visits @ after)
        customers += d["customers"]
    return completions, customers


def removed(sc: dict[str, Any], tp: str) -> dict[str, Any]:
    """The scenario with everyone who reaches `tp` abandoning there (and nothing counted
    at it)."""
    out = copy.deepcopy(sc)
    gone = {"failure_probability": 1.0, "dropout": 1.0, "impact": 0.0, "success_value": 0.0}
    for t in out["touchpoints"]:
        if t["id"] == tp:
            t.update(gone)
    for persona in out.get("personas") or []:
        if tp in (persona.get("touchpoints") or {}):
            persona["touchpoints"][tp] = dict(gone)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_removal_effects_equal_a_brute_force_with_each_touchpoint_removed(seed: int) -> None:
    sc = random_scenario(seed)
    result = importance(build_journey(load_scenario(sc)))
    completions, customers = completion(sc)
    value = exact_value(sc, set())
    assert result.completions == pytest.approx(completions, rel=1e-9, abs=1e-9)
    assert result.completion_probability == pytest.approx(completions / customers, rel=1e-9)
    for row in result.touchpoints:
        without = removed(sc, row.id)
        kept, _ = completion(without)
        assert row.removal_effect == pytest.approx(1 - kept / completions, rel=1e-7, abs=1e-9)
        assert row.value_lost == pytest.approx(value - exact_value(without, set()),
                                               rel=1e-7, abs=1e-7)
    effects = [row.removal_effect for row in result.touchpoints]
    attributed = [row.attributed_completions for row in result.touchpoints]
    assert sum(attributed) == pytest.approx(completions, rel=1e-9)
    for e, a in zip(effects, attributed, strict=True):
        assert a == pytest.approx(completions * e / sum(effects), rel=1e-9, abs=1e-12)


def test_per_persona_results_add_up_to_the_customer_weighted_ones() -> None:
    sc = next(s for s in map(random_scenario, range(100)) if len(s.get("personas") or []) > 1)
    result = importance(build_journey(load_scenario(sc)))
    assert sum(p.completions for p in result.personas) == pytest.approx(result.completions)
    for k, row in enumerate(result.touchpoints):
        lost = sum(p.touchpoints[k].removal_effect * p.completions for p in result.personas)
        assert row.removal_effect * result.completions == pytest.approx(lost, abs=1e-9)
        assert row.value_lost == pytest.approx(
            sum(p.touchpoints[k].value_lost for p in result.personas), abs=1e-9)


def test_a_chain_in_a_line_loses_everything_without_any_of_its_steps(
        minimal_scenario: Any) -> None:
    sc = minimal_scenario(journey={"entry": {"ad": 1.0},
                                   "edges": [{"from": "ad", "to": "branch", "probability": 1}]})
    result = importance(build_journey(load_scenario(sc)))
    # ad and branch are on every completed journey; the third touchpoint is never reached
    assert [t.removal_effect for t in result.touchpoints] == pytest.approx([1.0, 1.0, 0.0])
    assert [t.attributed_completions for t in result.touchpoints] == pytest.approx(
        [result.completions / 2] * 2 + [0.0])


def test_importance_json_keys_are_the_contract(run_main: Any, write_scenario: Any,
                                               minimal_scenario: Any) -> None:
    path = write_scenario(minimal_scenario())
    run = run_main("importance", path, "--json")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert list(data)[:2] == ["completion_probability", "touchpoints"]
    assert set(data["touchpoints"][0]) >= {"id", "name", "removal_effect",
                                           "attributed_completions", "value_lost"}


def test_the_importance_report_is_valid_html_with_a_bar_per_reached_touchpoint(
        run_main: Any, tmp_path: Any) -> None:
    import html5lib

    run = run_main("importance", "scenarios/microfinance-onboarding.yaml", "--report",
                   tmp_path)
    assert run.exit_code == 0, run.output
    [page] = tmp_path.glob("*-importance.html")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse(page.read_text(encoding="utf-8"))
    svg = "{http://www.w3.org/2000/svg}"
    bars = list(document.iter(f"{svg}rect"))
    result = importance(build_journey(load_scenario("scenarios/microfinance-onboarding.yaml")))
    reached = [t for t in result.touchpoints if t.reach > 0]
    assert len(bars) == len(reached)
    widths = [float(b.get("width")) for b in bars]
    assert widths == sorted(widths, reverse=True)  # largest removal effect first
