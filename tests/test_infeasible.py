"""Infeasible scenarios name a minimal set of conflicting constraints."""

from __future__ import annotations

from typing import Any

import pytest

from cxplan import load_scenario, optimize
from cxplan.errors import InfeasibleError


def scenario(improvements: list[dict[str, Any]], **extra: Any) -> Any:
    return load_scenario({
        "cxplan": 1,
        "touchpoints": [{"id": "a", "failure_probability": 0.3, "impact": 10}],
        "journey": {"entry": {"a": 1.0}},
        "improvements": [{"effects": [{"touchpoint": "a", "failure_reduction": 0.2}], **imp}
                         for imp in improvements],
        **extra,
    })


def conflict(sc: Any) -> list[str]:
    with pytest.raises(InfeasibleError) as caught:
        optimize(sc)
    assert caught.value.exit_code == 3
    return caught.value.conflict


def test_mandatory_improvements_over_budget() -> None:
    sc = scenario([{"id": "kyc", "cost": 60, "mandatory": True},
                   {"id": "aml", "cost": 50, "mandatory": True},
                   {"id": "cheap", "cost": 1, "mandatory": True}], budget=100)
    assert conflict(sc) == ["'kyc' is mandatory (cost 60)", "'aml' is mandatory (cost 50)",
                            "budget of 100"]


def test_mandatory_improvement_needing_more_staff_than_the_team_has() -> None:
    sc = scenario([{"id": "kyc", "cost": 1, "mandatory": True, "staff": {"it": 3}}],
                  teams={"it": 2}, budget=1000)
    assert conflict(sc) == ["'kyc' is mandatory (cost 1, staff it=3)", "team 'it' has 2 staff"]


def test_mandatory_improvement_requiring_an_excluded_one() -> None:
    sc = scenario([{"id": "kyc", "cost": 1, "mandatory": True, "requires": ["portal"]},
                   {"id": "portal", "cost": 1},
                   {"id": "legacy", "cost": 1, "mandatory": True, "excludes": ["portal"]}])
    assert sorted(conflict(sc)) == sorted([
        "'kyc' is mandatory (cost 1)", "'legacy' is mandatory (cost 1)",
        "'kyc' requires 'portal'", "'legacy' excludes 'portal'"])


def test_a_feasible_scenario_with_mandatory_items_keeps_them() -> None:
    sc = scenario([{"id": "kyc", "cost": 10, "mandatory": True},
                   {"id": "nice", "cost": 10}], budget=15)
    assert optimize(sc).selected == ("kyc",)
