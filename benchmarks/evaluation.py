"""Exact evaluation on big journeys: how long one `Journey.evaluate` takes, by method.

    .venv/bin/python benchmarks/evaluation.py                      # 500 … 5 000 touchpoints
    .venv/bin/python benchmarks/evaluation.py --touchpoints 5000 --unreachable 0,0.8

The journeys are the generator's realistic shape (`generate.py`) with two personas and
twice as many improvements as touchpoints; `--unreachable` closes that share of the lanes
(no customer reaches them, as in the issue-17 backlogs). Each row runs in a fresh
subprocess with one BLAS thread and times, per method of `cxplan.core.factor` (the one
chosen for the journey, and sparse LU, the method before issue 17):

- `first ms`: the first evaluation, which also analyses the chain (components, levels);
- `eval ms`: the median of evaluations of fresh random selections of 1 % of the backlog
  (nothing cached), and the fastest; `eval CPU ms` the median CPU time
  (`time.process_time`), which a shared machine distorts less than wall time;
- `estimate ms`: `Journey.first_order_gains` (a solve with M and one with Mᵀ per persona).

`--attribution` times instead what a plan does after the solve on thousands of funded
improvements (random requirement-closed selections of `--funded` of the backlog): the
ranking and parts without a deadline and with `--deadline` seconds (and whether it had
to simplify), and the Shapley values with a 3 s budget (method, orders, or declined).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks.generate` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402

RESULT_MARK = "EVAL-RESULT "
REPEATS = 30


def worker(touchpoints: int, unreachable: float, seed: int = 0,
           repeats: int = REPEATS) -> list[dict[str, Any]]:
    """One row per method: the timings above for one generated journey."""
    import numpy as np

    from cxplan import load_scenario
    from cxplan.core import factor
    from cxplan.core.journey import build_journey

    scenario = load_scenario(realistic_scenario(2 * touchpoints, seed=seed, personas=2,
                                                unreachable=unreachable))
    ids = scenario.improvement_ids
    rows = []
    try:
        for forced in (None, "sparse"):
            factor.FORCE_METHOD = forced
            journey = build_journey(scenario)
            began = time.perf_counter()
            journey.evaluate(())
            first = time.perf_counter() - began
            rng = np.random.default_rng(seed)
            times, cpu = [], []
            for _ in range(repeats):
                selection = list(rng.choice(ids, max(1, len(ids) // 100), replace=False))
                began, began_cpu = time.perf_counter(), time.process_time()
                journey.evaluate(selection)
                times.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            began = time.perf_counter()
            journey.first_order_gains()
            estimate = time.perf_counter() - began
            structures = [chain.structure for chain in journey.personas]
            components = [s.components for s in structures if s.components is not None]
            rows.append({
                "touchpoints": touchpoints, "unreachable": unreachable, "seed": seed,
                "reachable": max(len(chain.reachable_index) for chain in journey.personas),
                "method": "/".join(sorted({s.method for s in structures})),
                "components": max((c.count for c in components), default=None),
                "largest": max((c.largest for c in components), default=None),
                "levels": max((c.depth or 0 for c in components), default=None),
                "first_ms": 1000 * first, "eval_ms": 1000 * float(np.median(times)),
                "eval_min_ms": 1000 * min(times), "eval_cpu_ms": 1000 * float(np.median(cpu)),
                "estimate_ms": 1000 * estimate,
            })
    finally:
        factor.FORCE_METHOD = None
    for row in rows:
        row["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rows


def attribution_worker(touchpoints: int, unreachable: float, funded: list[int],
                       deadline: float, seed: int = 0) -> list[dict[str, Any]]:
    """One row per funded count: ranking and Shapley timings on one generated backlog."""
    import random

    from cxplan import load_scenario
    from cxplan.core.journey import build_journey
    from cxplan.core.ranking import ranking
    from cxplan.core.selection import requirement_closure
    from cxplan.core.shapley import plan_game, shapley_values

    scenario = load_scenario(realistic_scenario(2 * touchpoints, seed=seed, personas=2,
                                                unreachable=unreachable))
    rows = []
    for count in funded:
        journey = build_journey(scenario)  # fresh: no evaluation cached from another row
        rng = random.Random(count)
        closure = requirement_closure(scenario, rng.sample(scenario.improvement_ids, count))
        selection = tuple(i for i in scenario.improvement_ids if i in closure)
        journey.evaluate(selection)  # the plan evaluates it before ranking
        began = time.perf_counter()
        ranking(scenario, journey, selection)
        free = time.perf_counter() - began
        journey = build_journey(scenario)
        journey.evaluate(selection)
        began = time.perf_counter()
        within = ranking(scenario, journey, selection, deadline=began + deadline)
        bounded = time.perf_counter() - began
        began = time.perf_counter()
        found = shapley_values(plan_game(journey, selection), time_budget=3.0)
        shapley = time.perf_counter() - began
        rows.append({
            "touchpoints": touchpoints, "unreachable": unreachable, "funded": len(selection),
            "rank_s": free, "deadline_s": deadline, "rank_within_s": bounded,
            "reduced": within.reduced is not None, "shapley_s": shapley,
            "shapley": "declined" if found is None else f"{found.method} ({found.orders})",
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
    return rows


def _attribution_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| touchpoints | unreachable | funded | rank s (no deadline) | rank s (deadline) "
             "| simplified | Shapley s | Shapley | peak MiB |",
             "|---:|---:|---:|---:|---:|---|---:|---|---:|"]
    for r in rows:
        lines.append(
            f"| {r['touchpoints']} | {r['unreachable']:.0%} | {r['funded']} | {r['rank_s']:.2f} "
            f"| {r['rank_within_s']:.2f} (of {r['deadline_s']:g}) "
            f"| {'yes' if r['reduced'] else 'no'} | {r['shapley_s']:.2f} | {r['shapley']} "
            f"| {r['peak_mib']:.0f} |")
    return "\n".join(lines)


def _run(*args: object) -> list[dict[str, Any]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--worker", *map(str, args)], env=env,
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith(RESULT_MARK))
    rows: list[dict[str, Any]] = json.loads(line[len(RESULT_MARK):])
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("| touchpoints | unreachable | reachable | method | components | largest | levels "
            "| first ms | eval ms (min) | eval CPU ms | estimate ms | peak MiB |\n"
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['touchpoints']} | {r['unreachable']:.0%} | {r['reachable']} | {r['method']} "
            f"| {r['components'] or '–'} | {r['largest'] or '–'} | {r['levels'] or '–'} "
            f"| {r['first_ms']:.1f} | {r['eval_ms']:.1f} ({r['eval_min_ms']:.1f}) "
            f"| {r['eval_cpu_ms']:.1f} "
            f"| {r['estimate_ms']:.1f} | {r['peak_mib']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        rows = worker(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
        print(RESULT_MARK + json.dumps(rows))
        return
    if len(sys.argv) == 7 and sys.argv[1] == "--worker":
        rows = attribution_worker(int(sys.argv[2]), float(sys.argv[3]),
                                  [int(x) for x in sys.argv[4].split(",")],
                                  float(sys.argv[5]), int(sys.argv[6]))
        print(RESULT_MARK + json.dumps(rows))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touchpoints", default="500,1000,2500,5000")
    parser.add_argument("--unreachable", default="0,0.8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--attribution", action="store_true")
    parser.add_argument("--funded", default="1000,3000,5000")
    parser.add_argument("--deadline", type=float, default=5.0)
    args = parser.parse_args()
    rows = []
    if args.attribution:
        for tps in (int(x) for x in args.touchpoints.split(",")):
            for share in (float(x) for x in args.unreachable.split(",")):
                rows.extend(_run(tps, share, args.funded, args.deadline, args.seed))
                print(f"done {tps} touchpoints, {share:.0%} unreachable", file=sys.stderr)
        print(_attribution_table(rows))
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1))
        return
    for tps in (int(x) for x in args.touchpoints.split(",")):
        for share in (float(x) for x in args.unreachable.split(",")):
            rows.extend(_run(tps, share, args.seed))
            print(f"done {tps} touchpoints, {share:.0%} unreachable", file=sys.stderr)
    print(_table(rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
