"""`cxplan robust`: every draw's plan is the exact optimum of that draw, the robust plan the
exact optimum over the sample, and the figures what their definitions say.

References share no code with cxplan: the brute force of tests/random_scenarios.py applied
to each draw's values (read back from the result's saved draws), and numpy's own sampling.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cxplan
from cxplan.robustness.analysis import RobustResult, robust

from conftest import CliRun, ScenarioFactory, ScenarioWriter
from random_scenarios import brute_force, exact_value, feasible, random_scenario

CONTRACT = {"samples", "seed", "sampler", "frequency", "frequency_ci", "nominal", "robust"}


def with_distributions(seed: int) -> dict[str, Any]:
    """A random small scenario whose failure probabilities, reductions and costs are
    uncertain, and whose first branching touchpoint's out-edges are a Dirichlet."""
    data = random_scenario(seed)
    rng = np.random.default_rng(seed)
    for tp in data["touchpoints"]:
        p = tp["failure_probability"]
        tp["failure_probability"] = {"uniform": [round(p * 0.5, 4), round(min(1.0, p * 1.5), 4)]}
    for imp in data["improvements"]:
        imp["cost"] = {"pert": [imp["cost"] * 0.8, imp["cost"], imp["cost"] * 1.4]}
        for effect in imp["effects"]:
            r = effect.get("failure_reduction", 0)
            if r > 0:
                effect["failure_reduction"] = {"pert": [r * 0.5, r, min(1.0, r * 1.3)],
                                               **({"group": "vendor"} if rng.random() < 0.3
                                                  else {})}
    sources: dict[str, list[dict[str, Any]]] = {}
    for edge in data["journey"]["edges"]:
        sources.setdefault(edge["from"], []).append(edge)
    branching = [s for s, edges in sources.items() if len(edges) >= 2]
    if branching:
        edges = sources[branching[0]]
        rest = 1 - sum(e["probability"] for e in edges)
        for edge in edges:
            edge["probability"] = {"dirichlet": 60 * edge["probability"]}
        data["journey"]["completed"] = {branching[0]: {"dirichlet": 60 * rest}}
    return data


def at_values(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """`data` with the values of one draw (keyed by place, as saved) written in."""
    out = copy.deepcopy(data)
    out["journey"].pop("completed", None)
    for place, value in values.items():
        node: Any = out
        keys = [int(k) if k.isdigit() else k
                for k in place.replace("[", ".").replace("]", "").split(".")]
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return out


def solved(data: dict[str, Any], **options: Any) -> tuple[RobustResult, list[dict[str, Any]]]:
    result = robust(cxplan.load_scenario(data), workers=1, **options)
    saved = result.saved_draws()
    return result, [at_values(data, values) for values in saved["draws"]]


def gain(data: dict[str, Any], selection: set[str]) -> float:
    return exact_value(data, selection) - exact_value(data, set())


def worst_share(gains: list[float], alpha: float) -> float:
    """CVaR by its definition: the mean of the worst alpha·n draws (alpha·n whole here)."""
    k = round(alpha * len(gains))
    return float(np.mean(sorted(gains)[:k]))


@pytest.mark.parametrize(("seed", "objective"), [(1, "mean"), (2, "mean"), (3, "mean"),
                                                 (4, "cvar:0.5"), (5, "cvar:0.5")])
def test_every_draw_and_the_robust_plan_equal_enumeration(seed: int, objective: str) -> None:
    data = with_distributions(seed)
    result, draws = solved(data, samples=4, seed=seed, objective=objective, fresh_samples=4)
    for d, drawn in enumerate(draws):
        best = brute_force(drawn)
        assert best is not None
        optimum = result.optima[d]
        assert optimum.proven
        assert optimum.gain == pytest.approx(best[0], rel=1e-6, abs=1e-6)
        assert optimum.gain == pytest.approx(gain(drawn, set(optimum.selected)), rel=1e-9,
                                             abs=1e-9)
    means = at_values(data, {})  # limits at the means: the costs' means
    scenario = cxplan.load_scenario(data)
    for k, imp in enumerate(scenario.improvements):
        means["improvements"][k]["cost"] = imp.cost
    ids = [i["id"] for i in data["improvements"]]
    alpha = 1.0 if objective == "mean" else 0.5
    best_value = -math.inf
    for mask in range(1 << len(ids)):
        chosen = {ids[k] for k in range(len(ids)) if mask >> k & 1}
        if feasible(means, chosen):
            value = worst_share([gain(drawn, chosen) for drawn in draws], alpha)
            best_value = max(best_value, value)
    plan = set(result.robust_in_sample.selected)
    assert feasible(means, plan)
    assert result.robust_method == "milp"
    assert worst_share([gain(drawn, plan) for drawn in draws], alpha) == pytest.approx(
        best_value, rel=1e-6, abs=1e-6)


def test_zero_width_distributions_give_the_deterministic_plan_in_every_draw(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(budget=320)
    data["touchpoints"][1]["failure_probability"] = {"uniform": [0.25, 0.25]}
    data["improvements"][0]["cost"] = {"pert": [300, 300, 300]}
    data["improvements"][1]["effects"][0]["failure_reduction"] = {"normal": [0.3, 0]}
    scenario = cxplan.load_scenario(data)
    plan = cxplan.optimize(scenario)
    result = robust(scenario, samples=6, seed=0, workers=1).to_dict()
    assert result["frequency"] == {i: float(i in plan.selected)
                                   for i in scenario.improvement_ids}
    assert result["nominal"]["gain"]["sd"] == 0
    assert result["nominal"]["gain"]["mean"] == pytest.approx(plan.expected_gain)
    assert result["nominal"]["regret"] == {"mean": 0, "p90": 0}
    assert result["nominal"]["within_1pct"] == 1
    assert result["robust"]["selected"] == list(plan.selected)


def test_frequencies_agree_with_an_independent_monte_carlo(
        uncertain_choice: dict[str, Any]) -> None:
    data = uncertain_choice
    result = robust(cxplan.load_scenario(data), samples=60, seed=11, workers=1,
                    fresh_samples=10)
    share = result.frequency["queue-app"]
    low, high = share.interval
    rng = np.random.default_rng(12345)  # independent: numpy's own draws, brute force
    picks = []
    for p in rng.uniform(0.05, 0.45, 400):
        drawn = copy.deepcopy(data)
        drawn["touchpoints"][1]["failure_probability"] = float(p)
        best = brute_force(drawn)
        assert best is not None
        picks.append("queue-app" in best[1])
    independent = float(np.mean(picks))
    assert 0.1 < independent < 0.9  # the test means something: both plans happen
    margin = 1.96 * math.sqrt(independent * (1 - independent) / len(picks))
    assert low - margin <= independent <= high + margin


def test_the_same_seed_gives_the_same_result_with_any_number_of_workers(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(budget=320)
    data["touchpoints"][1]["failure_probability"] = {"pert": [0.1, 0.25, 0.5]}
    data["improvements"][1]["cost"] = {"uniform": [20, 400]}
    scenario = cxplan.load_scenario(data)
    one = robust(scenario, samples=12, seed=5, workers=1).to_dict()
    two = robust(scenario, samples=12, seed=5, workers=2).to_dict()
    other = robust(scenario, samples=12, seed=6, workers=1).to_dict()
    for result in (one, two, other):
        del result["seconds"], result["workers"]
    assert one == two
    assert one["frequency"] != other["frequency"] or one["nominal"] != other["nominal"]


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_quasi_random_samplers_cover_each_axis_evenly(
        minimal_scenario: ScenarioFactory, sampler: str) -> None:
    from cxplan.robustness.sampling import sample, seeds

    data = minimal_scenario()
    data["touchpoints"][1]["failure_probability"] = {"uniform": [0.0, 0.8]}
    scenario = cxplan.load_scenario(data)
    draws = sample(scenario.uncertainty, 16, sampler, seeds(3)[0])
    # 16 points, 16 equal strata of [0, 0.8]: one point in each
    strata = np.floor(draws.values[:, 0] / 0.05).astype(int)
    assert sorted(strata.tolist()) == list(range(16))


def test_a_group_takes_one_quantile_and_a_dirichlet_keeps_its_sum(
        minimal_scenario: ScenarioFactory) -> None:
    from cxplan.robustness.sampling import sample, seeds

    data = minimal_scenario()
    data["improvements"][0]["effects"][0]["failure_reduction"] = {
        "uniform": [0.2, 0.6], "group": "vendor"}
    data["improvements"][1]["effects"][0]["failure_reduction"] = {
        "uniform": [0.1, 0.3], "group": "vendor"}
    data["journey"]["edges"].append({"from": "ad", "to": "account", "probability": 0.1})
    data["journey"]["edges"][0]["probability"] = {"dirichlet": 6}
    data["journey"]["edges"][2]["probability"] = {"dirichlet": 1}
    data["journey"]["completed"] = {"ad": {"dirichlet": 3}}
    scenario = cxplan.load_scenario(data)
    draws = sample(scenario.uncertainty, 2000, "random", seeds(1)[0])
    first, second, edge_a, edge_b = draws.values.T
    np.testing.assert_allclose((first - 0.2) / 0.4, (second - 0.1) / 0.2, atol=1e-12)
    assert (edge_a + edge_b <= 1).all() and (edge_a + edge_b > 0.3).any()
    assert np.mean(edge_a) == pytest.approx(0.6, abs=0.02)  # 6 / (6 + 1 + 3)
    assert np.mean(edge_b) == pytest.approx(0.1, abs=0.01)


# -- the command --------------------------------------------------------------------------------

def test_robust_json_keeps_the_contract_and_saves_the_draws(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter, tmp_path: Path,
        run_main: Any) -> None:
    data = minimal_scenario(budget=320)
    data["touchpoints"][1]["failure_probability"] = {"pert": [0.1, 0.25, 0.5]}
    path = write_scenario(data)
    saved = tmp_path / "draws.json"
    run: CliRun = run_main("robust", path, "--samples", "8", "--seed", "4", "--workers", "1",
                           "--json", "--save-samples", saved, "--objective", "cvar:0.25")
    assert run.exit_code == 0, run.stderr
    result = json.loads(run.stdout)
    assert set(result) >= CONTRACT
    assert (result["samples"], result["seed"], result["sampler"]) == (8, 4, "random")
    assert set(result["nominal"]) >= {"selected", "gain", "regret", "within_1pct"}
    assert set(result["nominal"]["gain"]) == {"mean", "sd", "p5", "p10", "p50", "p90", "p95"}
    assert set(result["robust"]) >= {"objective", "method", "selected", "in_sample",
                                     "out_of_sample"}
    assert result["robust"]["objective"] == "cvar:0.25"
    assert set(result["robust"]["out_of_sample"]) >= {"mean", "ci"}
    draws = json.loads(saved.read_text())["draws"]
    assert len(draws) == 8 and set(draws[0]) == {"touchpoints[1].failure_probability"}
    assert all(0.1 <= d["touchpoints[1].failure_probability"] <= 0.5 for d in draws)
    assert "fewer than 10" in run.stderr  # 8 draws are too few for P5 and P95


@pytest.mark.parametrize(("args", "message"), [
    (["--samples", "1"], "at least 2"),
    (["--samples", "4", "--objective", "cvar:2"], "cvar:ALPHA"),
    (["--samples", "4", "--sampler", "halton"], "random, lhs, sobol"),
    (["--samples", "4", "--workers", "0"], "at least 1"),
])
def test_bad_options_are_usage_errors(minimal_scenario: ScenarioFactory,
                                      write_scenario: ScenarioWriter, run_main: Any,
                                      args: list[str], message: str) -> None:
    run: CliRun = run_main("robust", write_scenario(minimal_scenario()), *args)
    assert run.exit_code == 2
    assert message in run.stderr
    assert "Traceback" not in run.output


def test_other_criteria_are_refused_with_the_reason(minimal_scenario: ScenarioFactory,
                                                    write_scenario: ScenarioWriter,
                                                    run_main: Any) -> None:
    path = write_scenario(minimal_scenario(criteria={"expected_experience": 1,
                                                     "moments_of_truth": 1}))
    run: CliRun = run_main("robust", path, "--samples", "4")
    assert run.exit_code == 2
    assert "expected experience gain" in run.stderr


def test_the_report_shows_the_verdicts_and_parses_as_strict_html(
        uncertain_choice: dict[str, Any], write_scenario: ScenarioWriter, tmp_path: Path,
        run_main: Any) -> None:
    import html5lib

    path = write_scenario(uncertain_choice)
    run: CliRun = run_main("robust", path, "--samples", "16", "--seed", "2", "--workers", "1",
                           "--report", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    html = next((tmp_path / "out").glob("robust-*.html")).read_text()
    markdown = next((tmp_path / "out").glob("robust-*.md")).read_text()
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)
    assert "<script" not in html
    # queue-app and sms each win in some draws: both are bets, neither is for sure
    assert "**Bets** (in more than 10 % and less than 90 % of them): queue-app, sms" in \
        markdown.replace("sms, queue-app", "queue-app, sms")
    assert "**For sure** (in at least 90 % of the draws' optimal plans): nothing" in markdown
    assert html.count("<rect") == 2 * 12  # a bar per plan and bin


def test_without_the_sample_milp_the_best_per_draw_optimum_is_taken(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import cxplan.robustness.analysis as analysis

    monkeypatch.setattr(analysis, "MILP_COLUMNS", 0)  # as if the sample MILP were too large
    data = with_distributions(6)
    result, draws = solved(data, samples=6, seed=6, fresh_samples=2)
    assert result.robust_method == "best_of_draws"
    scenario = cxplan.load_scenario(data)
    means = at_values(data, {})
    for k, imp in enumerate(scenario.improvements):
        means["improvements"][k]["cost"] = imp.cost
    plans = {frozenset(o.selected) for o in result.optima} | {
        frozenset(result.nominal.selected)}
    best = max(np.mean([gain(d, set(p)) for d in draws]) for p in plans if feasible(means, p))
    chosen = set(result.robust_in_sample.selected)
    assert np.mean([gain(d, chosen) for d in draws]) == pytest.approx(best, rel=1e-9)


def test_the_plan_report_lists_the_uncertain_inputs_and_their_means(
        tmp_path: Path, run_main: Any) -> None:
    root = Path(__file__).resolve().parent.parent / "scenarios"
    run: CliRun = run_main("plan", root / "microfinance-uncertain.yaml", "--report",
                           tmp_path / "u", "--no-marginals", "--quiet")
    assert run.exit_code == 0, run.stderr
    markdown = next((tmp_path / "u").glob("*.md")).read_text()
    html = next((tmp_path / "u").glob("*.html")).read_text()
    assert "## Uncertain inputs" in markdown and "<h2>Uncertain inputs</h2>" in html
    # Markdown-escaped brackets
    assert "| touchpoints\\[6\\].failure_probability | pert(0.25, 0.35, 0.45) | 0.35 |" \
        in markdown
    plain = run_main("plan", root / "microfinance-onboarding.yaml", "--report", tmp_path / "p",
                     "--no-marginals", "--quiet")
    assert plain.exit_code == 0
    assert "Uncertain inputs" not in next((tmp_path / "p").glob("*.md")).read_text()


def test_past_the_time_limit_draws_keep_their_best_known_plan_and_say_so(
        uncertain_choice: dict[str, Any], write_scenario: ScenarioWriter,
        run_main: Any) -> None:
    run: CliRun = run_main("robust", write_scenario(uncertain_choice), "--samples", "12",
                           "--seed", "3", "--workers", "1", "--json", "--time-limit", "0.01")
    assert run.exit_code == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["draws_not_proven"] == 12
    assert "12 draws were not solved to proven optimality" in run.stderr
    # every draw kept the nominal plan, the only one known: no regret is claimed
    assert result["frequency"] == {i: float(i in result["nominal"]["selected"])
                                   for i in ("queue-app", "sms")}


def test_errors_raised_in_a_worker_come_back_whole() -> None:
    # A draw's problem (a loop a draw closes, a plugin's failure) is raised in a worker
    # process and travels back pickled: it must keep its problems and its exit code.
    import pickle

    from cxplan.errors import InfeasibleError, PluginError, Problem, ScenarioError

    problems = [Problem("s.yaml", "journey.edges[2]", "a loop closes", "hint"),
                Problem("s.yaml", "touchpoints[0]", "odd", severity="warning")]
    back = pickle.loads(pickle.dumps(ScenarioError(problems)))
    assert (back.problems, back.warnings, back.exit_code) == (problems[:1], problems[1:], 2)
    conflict = pickle.loads(pickle.dumps(InfeasibleError(["budget", "mandatory[a]"])))
    assert conflict.conflict == ["budget", "mandatory[a]"] and conflict.exit_code == 3
    plugin = pickle.loads(pickle.dumps(PluginError("nps", "cxplan_criteria", "boom")))
    assert (str(plugin), plugin.plugin, plugin.exit_code) == (
        "plugin 'nps', hook cxplan_criteria: boom", "nps", 4)
