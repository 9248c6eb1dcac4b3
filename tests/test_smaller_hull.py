"""The hull leaves out what cannot change, and stays exact (docs/model.md, "The exact MILP").

A touchpoint no persona reaches gets no weights and no hull rows; a touchpoint whose visits
no selection can change gets its visits fixed to the baseline's (no copies, no flow row).
Both are checked against the independent brute force (`random_scenarios.brute_force`) on
random scenarios built to hit them: a closed lane with improvements, and a front door
(with a loop) that no improvement's change of retention can reach.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

from cxplan import load_scenario, optimize
from cxplan.core.journey import build_journey
from cxplan.optimizer import model
from cxplan.optimizer.pipeline import prepare

from random_scenarios import brute_force, random_scenario

TOLERANCE = 1e-6


def steady_and_unreached(seed: int) -> dict[str, Any]:
    """`random_scenario(seed)` with a front door (door ⇄ lobby, no dropout, improvements on
    both) that every customer passes first, and a closed lane (dark0 → dark1) no customer
    reaches, with improvements of its own and one that also acts on the door."""
    data = copy.deepcopy(random_scenario(seed))
    rng = random.Random(f"steady:{seed}")
    entries = list(data["journey"]["entry"])
    data["touchpoints"] += [
        {"id": "door", "failure_probability": 0.3, "impact": 12.0, "success_value": 5.0},
        {"id": "lobby", "failure_probability": 0.2, "impact": 4.0},
        {"id": "dark0", "failure_probability": 0.5, "impact": 50.0, "dropout": 0.4},
        {"id": "dark1", "failure_probability": 0.4, "impact": 30.0, "success_value": 9.0},
    ]
    data["journey"]["entry"] = {"door": 0.9}
    data["journey"]["edges"] += [
        {"from": "door", "to": "lobby", "probability": 0.6},
        {"from": "lobby", "to": "door", "probability": 0.3},
        *({"from": "lobby", "to": t, "probability": round(0.6 / len(entries), 4)}
          for t in entries),
        {"from": "dark0", "to": "dark1", "probability": 0.8},
        {"from": "dark1", "to": entries[0], "probability": 0.5},
    ]
    improvements = data["improvements"][:-2]  # nothing earlier refers to the last two
    improvements += [
        {"id": "door-a", "cost": rng.randint(1, 30), "effects": [
            {"touchpoint": "door", "failure_reduction": round(rng.uniform(0.1, 0.9), 3),
             "impact_reduction": round(rng.uniform(0, 0.5), 3)},
            {"touchpoint": "dark0", "failure_reduction": 0.5, "dropout_reduction": 0.5}]},
        {"id": "door-b", "cost": rng.randint(1, 30), "effects": [
            {"touchpoint": "door", "failure_reduction": round(rng.uniform(0.1, 0.9), 3)},
            {"touchpoint": "lobby", "impact_reduction": round(rng.uniform(0.1, 0.9), 3)}]},
        {"id": "dark-only", "cost": 1, "effects": [
            {"touchpoint": "dark1", "failure_reduction": 0.9}]},
    ]
    data["improvements"] = improvements
    return data


def _brute_force_agrees(data: dict[str, Any]) -> None:
    reference = brute_force(data)
    if reference is None:
        return
    plan = optimize(load_scenario(data))
    assert plan.status == "optimal"
    scale = max(1.0, abs(plan.expected_gain), abs(reference[0]), abs(plan.baseline_value))
    assert abs(plan.expected_gain - reference[0]) <= TOLERANCE * scale, (plan.selected,
                                                                         reference)


@pytest.mark.parametrize("seed", range(30))
def test_the_optimum_equals_brute_force_with_unreached_and_steady_touchpoints(
        seed: int) -> None:
    _brute_force_agrees(steady_and_unreached(seed))


@pytest.mark.parametrize("seed", range(6))
def test_the_reduced_hull_is_exact_with_the_compact_blocking_too(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "choose_blocking", lambda *_: model.COMPACT)
    _brute_force_agrees(steady_and_unreached(100 + seed))


@pytest.mark.parametrize("seed", range(40))
def test_visits_called_fixed_are_the_same_for_every_selection(seed: int) -> None:
    data = steady_and_unreached(seed) if seed % 2 else random_scenario(seed)
    scenario = load_scenario(data)
    journey = build_journey(scenario)
    members = model._members(scenario, journey)
    ids = scenario.improvement_ids
    rng = random.Random(seed)
    selections = [(), tuple(ids), *(tuple(rng.sample(ids, k=rng.randint(1, len(ids))))
                                     for _ in range(8))]
    baseline = journey.evaluate(())
    for q, chain in enumerate(journey.personas):
        fixed = model.fixed_visits(chain, members)
        for selection in selections:
            visits = journey.evaluate(selection).personas[q].visits
            expected = baseline.personas[q].visits
            assert np.allclose(visits[fixed], expected[fixed], rtol=1e-12, atol=1e-15)


def test_the_front_door_and_the_closed_lane_get_no_copies_no_flow_rows_and_no_weights() -> None:
    data = steady_and_unreached(3)
    for persona in data.get("personas", []):
        persona.pop("entry", None)  # every persona comes in by the door
    prepared = prepare(load_scenario(data))
    # PuLP writes the model's names with "_" for brackets: nu[q0,t3] is nu_q0,t3_
    names = {v.name for v in prepared.model.problem.variables()}
    rows = {c.name for c in prepared.model.problem.constraints()}
    index = prepared.journey.index
    context = prepared.model.context
    steady = 0
    for q in range(len(prepared.journey.personas)):
        for t in (index["door"], index["lobby"]):
            if not context.reachable(q, t):
                continue  # this persona's own entry bypasses the door
            # the visits are the baseline's, a constant: no variable, copies or flow row
            assert t in context.steady[q]
            steady += 1
            assert not any(n.startswith((f"u_q{q},t{t},", f"nu_q{q},t{t}_")) for n in names)
            assert f"flow_q{q},t{t}_" not in rows
            assert context.visits(q, t).constant == pytest.approx(
                prepared.journey.evaluate(()).personas[q].visits[t], rel=1e-12)
    assert steady > 0
    for t in (index["dark0"], index["dark1"]):
        assert not any(n.startswith((f"lam_t{t},", f"u_q0,t{t},", f"nu_q0,t{t}_"))
                       for n in names)
        assert not any(r.startswith(f"hull_t{t},") for r in rows)
    # touchpoints downstream of a changing one keep their copies and flow rows
    assert any(n.startswith("u_q0,") for n in names)
    assert any(r.startswith("flow_q0,") for r in rows)


def test_a_touchpoint_downstream_of_a_retention_change_is_not_fixed() -> None:
    data = {
        "cxplan": 1, "name": "chain",
        "touchpoints": [
            {"id": "a", "failure_probability": 0.4, "impact": 5, "dropout": 0.5},
            {"id": "b", "failure_probability": 0.3, "impact": 5},
            {"id": "c", "failure_probability": 0.3, "impact": 5},
        ],
        "journey": {"entry": {"b": 1.0}, "edges": [
            {"from": "b", "to": "a", "probability": 0.5},
            {"from": "a", "to": "c", "probability": 0.9},
            {"from": "c", "to": "b", "probability": 0.1}]},
        "improvements": [
            {"id": "fix-a", "cost": 1, "effects": [{"touchpoint": "a",
                                                     "dropout_reduction": 0.5}]},
        ],
    }
    scenario = load_scenario(data)
    journey = build_journey(scenario)
    fixed = model.fixed_visits(journey.personas[0], model._members(scenario, journey))
    # c follows a; b follows c (a loop): all three move when a keeps more customers
    assert not fixed.any()
    # without the dropout a changes nobody's retention, and nothing moves
    data["improvements"][0]["effects"][0] = {"touchpoint": "a", "impact_reduction": 0.5}
    scenario = load_scenario(data)
    journey = build_journey(scenario)
    assert model.fixed_visits(journey.personas[0], model._members(scenario, journey)).all()


def test_the_unreached_touchpoints_are_left_out_of_the_size_estimate() -> None:
    data = steady_and_unreached(5)
    scenario = load_scenario(data)
    journey = build_journey(scenario)
    closed = copy.deepcopy(data)
    for imp in closed["improvements"]:
        imp["effects"] = [e for e in imp["effects"] if not e["touchpoint"].startswith("dark")]
    closed["improvements"] = [i for i in closed["improvements"] if i["effects"]]
    reduced = load_scenario(closed)
    extra_improvements = len(scenario.improvements) - len(reduced.improvements)
    assert (model.estimated_columns(scenario, journey, model.TIGHT)
            == model.estimated_columns(reduced, build_journey(reduced), model.TIGHT)
            + extra_improvements)


def test_every_path_is_hit_by_the_random_scenarios() -> None:
    """The cases above are not vacuous: over the seeds, each path occurs."""
    unreached = steady_single = steady_block = several = 0
    for seed in range(30):
        scenario = load_scenario(steady_and_unreached(seed))
        journey = build_journey(scenario)
        members = model._members(scenario, journey)
        several += len(journey.personas) > 1
        reached = np.logical_or.reduce([c.reachable for c in journey.personas])
        unreached += sum(1 for t, on_t in enumerate(members) if on_t and not reached[t])
        for chain in journey.personas:
            fixed = model.fixed_visits(chain, members) & chain.reachable
            steady_single += sum(1 for t in np.flatnonzero(fixed) if len(members[t]) == 1)
            steady_block += sum(1 for t in np.flatnonzero(fixed) if len(members[t]) > 1)
    assert min(unreached, steady_single, steady_block, several) > 0
