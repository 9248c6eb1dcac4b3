"""Roadmap benchmark: build and solve times of the multi-period model.

    .venv/bin/python benchmarks/roadmap.py                  # 100 and 1000 improvements, 8 periods
    .venv/bin/python benchmarks/roadmap.py --sizes 50 100 --periods 4 --time-limit 30

Each size runs in a fresh subprocess (so `ru_maxrss` is its peak memory). The
scenario is the benchmark generator's realistic journey (`generate.py`) turned into
a roadmap: durations of 1–3 periods, the budget (≈ 30 % of the total cost) spread
evenly over the periods with carry-over, each team's capacity per period about a
third of what the improvements ask in all, customers constant, a 2 % discount rate.
Prints one row per size: model size, build (model + start) time, solve time, status,
gap, start quality and peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import realistic_scenario


def roadmap_scenario(size: int, periods: int, seed: int = 0) -> dict[str, Any]:
    """The realistic scenario of `size` improvements as a roadmap over `periods`."""
    data = realistic_scenario(size, seed=seed)
    rng = random.Random(f"roadmap-{size}-{periods}-{seed}")
    for imp in data["improvements"]:
        imp["duration"] = rng.choice([1, 1, 2, 2, 3])
        imp.pop("mandatory", None)
    budget = data.get("budget")
    if budget is not None:
        data["budget"] = [round(budget / periods, 2)] * periods
    asked = {team: 0.0 for team in data.get("teams", {})}
    for imp in data["improvements"]:
        for team, n in imp.get("staff", {}).items():
            asked[team] = asked.get(team, 0.0) + n * imp["duration"]
    data["teams"] = {team: max(1.0, round(total / periods / 3, 1))
                     for team, total in asked.items()}
    data["horizon"] = {"periods": periods, "label": "quarter", "discount_rate": 0.02,
                       "carry_over": True}
    return data


def worker(size: int, periods: int, seed: int, time_limit: float,
           start_method: str = "auto") -> dict[str, Any]:
    from dataclasses import replace

    from cxplan import load_scenario
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.relaxation import lp_blocking_budget, relaxation_first
    from cxplan.optimizer.roadmap.pipeline import prepare_roadmap, start_keys

    began = time.perf_counter()
    scenario = load_scenario(roadmap_scenario(size, periods, seed))
    load_s = time.perf_counter() - began
    options = SolverOptions(time_limit=time_limit, start_method=start_method)
    lp_first = relaxation_first(options, size)
    prepared = prepare_roadmap(scenario, lp_within=lp_blocking_budget(time_limit)
                               if lp_first else None)
    build_s = prepared.build_seconds
    problem = prepared.model.problem
    columns, rows = len(problem.variables()), len(problem.constraints())
    t0 = time.perf_counter()
    start = prepared.start(max(0.5, time_limit / 10))
    start_s = time.perf_counter() - t0
    start_value = prepared.evaluator.objective(start) if start is not None else None
    if lp_first:
        # as `optimize` does: the LP first, the greedy schedule as the fill (timed above
        # apart, for the start/final column; the LP-first solve makes its own)
        t0 = time.perf_counter()
        session = prepared.session(options)
        compile_s = time.perf_counter() - t0
        result = prepared.solve_from_relaxation(session, began + time_limit)
    else:
        remaining = max(time_limit - (time.perf_counter() - began), 1.0)
        t0 = time.perf_counter()
        session = prepared.session(replace(options, time_limit=remaining))
        compile_s = time.perf_counter() - t0
        result = prepared.solve(session, start_keys(start) if start is not None else None)
    t0 = time.perf_counter()
    plan = prepared.plan(result)
    plan_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"size": size, "periods": periods, "columns": columns, "rows": rows,
            "copies": len(prepared.model.contexts), "load_s": load_s, "build_s": build_s,
            "start_s": start_s, "compile_s": compile_s, "solve_s": result.seconds,
            "plan_s": plan_s, "total_s": time.perf_counter() - began,
            "status": plan.status, "gap": plan.gap, "gain": plan.expected_gain,
            "start_share": (start_value / plan.objective
                            if start_value is not None and plan.objective else None),
            "scheduled": len(plan.selected), "peak_mib": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--periods", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--start-method", choices=("auto", "greedy", "relaxation"),
                        default="auto", help="SolverOptions.start_method (default auto)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.periods, args.seed, args.time_limit,
                                args.start_method)))
        return 0
    header = ("size", "periods", "copies", "columns", "rows", "build_s", "start_s",
              "compile_s", "solve_s", "plan_s", "total_s", "status", "gap", "start/opt",
              "peak_MiB")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for size in args.sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", str(size), "--periods", str(args.periods),
             "--seed", str(args.seed), "--time-limit", str(args.time_limit),
             "--start-method", args.start_method],
            capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{size} | failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        gap = "-" if r["gap"] is None else f"{r['gap']:.2e}"
        share = "-" if r["start_share"] is None else f"{r['start_share']:.3f}"
        print(" | ".join(str(v) for v in (
            r["size"], r["periods"], r["copies"], r["columns"], r["rows"],
            f"{r['build_s']:.1f}", f"{r['start_s']:.1f}", f"{r['compile_s']:.1f}",
            f"{r['solve_s']:.1f}", f"{r['plan_s']:.1f}", f"{r['total_s']:.1f}", r["status"],
            gap, share, f"{r['peak_mib']:.0f}")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
