"""Plugin constraints are first-class (issue 22, item 6): named as the plugin wrote them,
in conflict explanations (a true minimal conflict), and among the marginal values and
binding constraints of a plan (lifting one, against brute force).

The check is independent of cxplan's filter: every constraint, the core ones read from the
scenario dict and the plugin's counting rules, becomes a predicate over all 2^n
selections (numpy), and the conflict must be infeasible while every set with one member
dropped is feasible.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import numpy as np
import pulp
import pytest

from cxplan.plugin_api import InfeasibleError, ModelView, hookimpl, load_scenario, optimize
from cxplan.testing import plugin_manager

from conftest import two_fixes
from random_scenarios import feasible_gains, random_scenario

Rule = tuple[str, list[str], int]  # (sense "<=" or ">=", improvements, count)


class CountingRules:
    """A constraints plugin: each rule bounds how many of some improvements are funded."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self.rules = rules

    @hookimpl
    def cxplan_constraints(self, ctx: ModelView) -> list[tuple[str, object]]:
        rows: list[tuple[str, object]] = []
        for name, (sense, ids, count) in self.rules.items():
            total = pulp.lpSum(ctx.x[i] for i in ids)
            rows.append((name, total <= count if sense == "<=" else total >= count))
        return rows


def selections(ids: list[str]) -> np.ndarray:
    """Every selection of `ids` as a boolean matrix, one row per selection."""
    return np.array(list(itertools.product([False, True], repeat=len(ids))), dtype=bool)


def predicates(sc: dict[str, Any], rules: dict[str, Rule], plugin: str
               ) -> dict[str, Any]:
    """label -> function(matrix) -> which selections satisfy that constraint; the core
    labels are cxplan's wording, matched by pattern (the predicates are written here)."""
    ids = [i["id"] for i in sc["improvements"]]
    col = {imp: k for k, imp in enumerate(ids)}
    imps = {i["id"]: i for i in sc["improvements"]}
    found: dict[str, Any] = {}
    for imp in sc["improvements"]:
        k = col[imp["id"]]
        if imp.get("mandatory"):
            found[f"mandatory {imp['id']}"] = lambda m, k=k: m[:, k]
        for req in imp.get("requires", []):
            found[f"requires {imp['id']} {req}"] = \
                lambda m, k=k, r=col[req]: ~m[:, k] | m[:, r]
        for other in imp.get("excludes", []):
            found[f"excludes {imp['id']} {other}"] = \
                lambda m, k=k, o=col[other]: ~(m[:, k] & m[:, o])
    costs = np.array([imps[i]["cost"] for i in ids], dtype=float)
    if sc.get("budget") is not None:
        found["budget"] = lambda m: m @ costs <= sc["budget"] + 1e-9
    for team, cap in sc.get("teams", {}).items():
        use = np.array([imps[i].get("staff", {}).get(team, 0) for i in ids], dtype=float)
        found[f"team {team}"] = lambda m, use=use, cap=cap: m @ use <= cap + 1e-9
    for name, (sense, members, count) in rules.items():
        mask = np.array([i in members for i in ids], dtype=float)
        found[f"{plugin}:{name}"] = (
            (lambda m, mask=mask, c=count: m @ mask <= c) if sense == "<="
            else (lambda m, mask=mask, c=count: m @ mask >= c))
    return found


def key(label: str) -> str:
    """cxplan's wording of a core constraint -> the key `predicates` uses."""
    patterns = [(r"^'(.+)' is mandatory", "mandatory {0}"),
                (r"^'(.+)' requires '(.+)'$", "requires {0} {1}"),
                (r"^'(.+)' excludes '(.+)'$", "excludes {0} {1}"),
                (r"^budget of ", "budget"), (r"^team '(.+)' has ", "team {0}")]
    for pattern, template in patterns:
        match = re.match(pattern, label)
        if match:
            return template.format(*match.groups())
    return label  # a plugin's constraint, as the plugin named it


def feasible(labels: list[str], found: dict[str, Any], matrix: np.ndarray) -> bool:
    ok = np.ones(len(matrix), dtype=bool)
    for label in labels:
        ok &= found[key(label)](matrix)
    return bool(ok.any())


def random_rules(rng: random.Random, ids: list[str]) -> dict[str, Rule]:
    """Two to four counting rules, likely to conflict with each other or the budget."""
    rules: dict[str, Rule] = {}
    for k in range(rng.randint(2, 4)):
        members = rng.sample(ids, rng.randint(2, min(6, len(ids))))
        if rng.random() < 0.5:
            rules[f"at-least[{k}]"] = (">=", members, rng.randint(len(members) - 1,
                                                                   len(members)))
        else:
            rules[f"at-most[{k}]"] = ("<=", members, rng.randint(0, 1))
    return rules


def test_a_minimal_conflict_names_the_plugins_rows_and_is_minimal_by_brute_force() -> None:
    infeasible = 0
    for seed in range(36):
        sc = random_scenario(seed)
        ids = [i["id"] for i in sc["improvements"]]
        rules = random_rules(random.Random(1000 + seed), ids)
        manager = plugin_manager(("rules", CountingRules(rules)))
        found = predicates(sc, rules, "rules")
        matrix = selections(ids)
        if feasible(list(found), found, matrix):
            continue  # nothing to explain
        infeasible += 1
        with pytest.raises(InfeasibleError) as caught:
            optimize(load_scenario(sc, plugins=manager), plugins=manager)
        conflict = caught.value.conflict
        assert all(key(label) in found for label in conflict), (seed, conflict)
        assert not feasible(conflict, found, matrix), (seed, conflict)
        for dropped in conflict:
            rest = [label for label in conflict if label != dropped]
            assert feasible(rest, found, matrix), (seed, conflict, dropped)
    assert infeasible >= 10  # the generator makes enough conflicts to mean something


def test_a_plugin_row_on_the_journey_keeps_the_rows_it_depends_on() -> None:
    # "at most 0.3 expected failures at a" can only be met by fixing a, which the budget
    # does not allow: the conflict is the budget and the plugin's row, by its name.
    sc: dict[str, Any] = {
        "cxplan": 1, "budget": 5,
        "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 10}],
        "journey": {"entry": {"a": 1.0}, "edges": []},
        "improvements": [{"id": "fix-a", "cost": 10,
                          "effects": [{"touchpoint": "a", "failure_reduction": 0.6}]}],
    }

    class FewFailures:
        @hookimpl
        def cxplan_constraints(self, ctx: ModelView) -> list[tuple[str, object]]:
            return [("few-failures[a]", ctx.failures(0, ctx.touchpoint_index["a"]) <= 0.3)]

    manager = plugin_manager(("quality", FewFailures()))
    with pytest.raises(InfeasibleError) as caught:
        optimize(load_scenario(sc, plugins=manager), plugins=manager)
    assert caught.value.conflict == ["budget of 5", "quality:few-failures[a]"]


def test_a_plugin_constraint_s_marginal_value_is_what_lifting_it_adds_by_brute_force() -> None:
    binding = 0
    for seed in range(12):
        sc = random_scenario(seed)
        sc.pop("personas", None)  # the default criterion's gain: per customer of one persona
        ids = [i["id"] for i in sc["improvements"]]
        members = random.Random(seed).sample(ids, 4)
        rules = {"at-most-one": ("<=", members, 1)}
        every = feasible_gains(sc)
        if not every:
            continue
        allowed = [gain for gain, chosen in every if len(chosen & set(members)) <= 1]
        manager = plugin_manager(("rules", CountingRules(rules)))
        plan = optimize(load_scenario(sc, plugins=manager), plugins=manager, marginals=True)
        assert plan.marginals is not None
        (value,) = [v for v in plan.marginals.values if v.kind == "plugin"]
        assert value.limit == "rules:at-most-one" and value.sense == "<="
        assert (value.capacity, value.used) == (1, len(set(plan.selected) & set(members)))
        expected = max(gain for gain, _ in every) - max(allowed)
        assert value.gain == pytest.approx(expected, rel=1e-6, abs=1e-6), seed
        assert value.binding == (expected > 1e-6 * max(1.0, max(allowed))), seed
        data = plan.to_dict()
        assert ("rules:at-most-one" in data["binding_constraints"]) == value.binding
        (listed,) = [m for m in data["marginal_values"] if m["kind"] == "plugin"]
        assert listed["step"] is None and listed["per_unit"] is None
        binding += value.binding
    assert binding >= 3  # enough of the rules bind to mean something


def test_on_a_roadmap_the_conflict_names_the_plugin_row_with_the_roadmap_rules() -> None:
    # One person, two periods: the two-period fix and the quick one cannot both be done,
    # which the plugin's rule demands. Dropping any one of the three removes the conflict.
    sc = two_fixes(periods=2)
    manager = plugin_manager(("rules", CountingRules({"both": (">=", ["big", "quick"], 2)})))
    with pytest.raises(InfeasibleError) as caught:
        optimize(load_scenario(sc, plugins=manager), plugins=manager)
    assert caught.value.conflict == ["team 'crew' has 1 staff in period 1",
                                     "team 'crew' has 1 staff in period 2", "rules:both"]
