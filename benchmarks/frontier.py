"""Frontier timing: one model re-solved per point (reuse) against a new model per point.

    .venv/bin/python benchmarks/frontier.py [--sizes 100,1000] [--points 10]
        [--time-limit 20] [--command-limit 60] [--seed 0] [--json out.json]
    .venv/bin/python benchmarks/frontier.py --scenario scenarios/microfinance-roadmap.yaml
        [--points 5]

`--scenario` takes a scenario file instead of generated sizes: a roadmap's budget
level is its total over the horizon, every period scaled in proportion
(`cxplan.whatif.levels`).

For each size, a budget frontier from 60 % to 140 % of the generated scenario's budget
is computed twice, each in a fresh subprocess with BLAS pinned to one thread:

- reuse: `cxplan.whatif.frontier.frontier(..., reuse=True)` — the model is built and
  compiled once, each point changes the budget row's right-hand side and starts from
  the previous point's plan;
- rebuild: `reuse=False` — every point builds the journey and the model, runs the greedy
  start and solves from scratch, as `cxplan.optimize` at that budget would.

`--time-limit` applies to each point's solve. `--command-limit S` also gives the whole
frontier S seconds (`frontier(..., clock=Clock(S), solve_limit=<--time-limit>)`, what
`cxplan frontier --time-limit S --solve-time-limit T` does): the table then also gives
the points skipped and the wall time against S + max(5 %, 2 s). Reported per mode: total
wall time, time spent building, the number of points proven optimal, the mean gap of the others, and
the sum of the objectives over the points (the higher, the better the plans found
within the limits). Both modes must agree on proven-optimal points.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def worker(size: int | str, points: int, time_limit: float, seed: int,
           reuse: bool, command_limit: float | None = None) -> dict[str, Any]:
    import resource

    from benchmarks.generate import realistic_scenario
    from cxplan import load_scenario
    from cxplan.clock import Clock
    from cxplan.optimizer.options import SolverOptions
    from cxplan.whatif.frontier import frontier

    scenario = load_scenario(realistic_scenario(size, seed=seed) if isinstance(size, int)
                             else size)
    assert scenario.budget is not None
    levels = [scenario.budget * (0.6 + 0.8 * k / max(points - 1, 1)) for k in range(points)]
    began = time.perf_counter()
    clock = Clock(command_limit, began=began) if command_limit else None
    result = frontier(scenario, "budget", levels, options=SolverOptions(time_limit=time_limit),
                      reuse=reuse, clock=clock, solve_limit=time_limit if clock else None)
    seconds = time.perf_counter() - began
    outcomes = [p.outcome for p in result.points if p.outcome is not None]
    gaps = [o.gap for o in outcomes if o.status != "optimal" and o.gap is not None]
    return {
        "size": size, "reuse": reuse, "points": points, "time_limit": time_limit,
        "seconds": seconds, "build_seconds": result.build_seconds, "solves": result.solves,
        "optimal": sum(o.status == "optimal" for o in outcomes),
        "mean_gap_of_others": sum(gaps) / len(gaps) if gaps else 0.0,
        "objective_sum": sum(o.objective for o in outcomes),
        "objectives": [o.objective for o in outcomes],
        "statuses": [o.status for o in outcomes],
        "improvements": len(scenario.improvements),
        "periods": scenario.horizon.periods if scenario.horizon is not None else 1,
        "command_limit": command_limit, "skipped": len(result.skipped),
        "allowed": clock.allowed if clock else None,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100,1000")
    p.add_argument("--points", type=int, default=10)
    p.add_argument("--time-limit", type=float, default=20.0)
    p.add_argument("--command-limit", type=float, default=0.0,
                   help="seconds for the whole frontier (0: none, per solve only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--scenario", metavar="FILE", help="a scenario file instead of --sizes")
    p.add_argument("--worker", nargs=2, metavar=("SIZE", "REUSE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        given, reuse = args.worker[0], args.worker[1] == "1"
        size: int | str = int(given) if given.isdigit() else given
        print(json.dumps(worker(size, args.points, args.time_limit, args.seed, reuse,
                                args.command_limit or None)))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    rows = []
    sizes = [args.scenario] if args.scenario else [s.strip() for s in args.sizes.split(",")]
    for size in sizes:
        for reuse in (True, False):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(size), "1" if reuse else "0",
                 "--points", str(args.points), "--time-limit", str(args.time_limit),
                 "--seed", str(args.seed), "--command-limit", str(args.command_limit)],
                env=env, check=True, capture_output=True, text=True)
            row = json.loads(out.stdout)
            rows.append(row)
            print(f"{row['improvements']:5d} improvements × {row['periods']} period(s) "
                  f"{'reuse  ' if reuse else 'rebuild'}: {row['seconds']:7.1f} s "
                  f"(build {row['build_seconds']:5.1f} s), {row['optimal']}/{args.points} "
                  f"optimal, mean gap of the others {row['mean_gap_of_others']:.2e}, "
                  f"objective sum {row['objective_sum']:,.0f}, peak {row['peak_mib']:.0f} MiB"
                  + (f", {row['skipped']} skipped, limit {args.command_limit:g} s "
                     f"(allowed {row['allowed']:g} s)" if args.command_limit else ""),
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
