"""How long Shapley values take, and how precise sampled ones are.

For each shape and number n of funded improvements (the first n of a generated backlog
whose journey is large enough), one fresh subprocess times `cxplan.core.shapley`: the
coalition game's set-up (one factorization per persona and k affected touchpoints) and
the values (exact over 2ⁿ subsets up to 16, sampled orders above), with its peak memory.
For sampled values the table gives the orders drawn and the largest standard error
relative to the plan's gain.

    .venv/bin/python benchmarks/shapley.py                       # both shapes, default n
    .venv/bin/python benchmarks/shapley.py --sizes 14,100 --shape dense --seed 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from benchmarks.generate import SHAPES, realistic_scenario

DEFAULT_SIZES = (8, 12, 14, 16, 24, 60, 200, 1000)


def measure(shape: str, n: int, seed: int, budget: float) -> dict[str, Any]:
    import numpy as np

    from cxplan import load_scenario
    from cxplan.core import shapley
    from cxplan.core.journey import build_journey

    scenario = load_scenario(realistic_scenario(max(2 * n, 100), shape=shape, seed=seed))
    journey = build_journey(scenario)
    players = scenario.improvement_ids[:n]
    began = time.perf_counter()
    game = shapley.plan_game(journey, players)
    setup = time.perf_counter() - began
    began = time.perf_counter()
    found = shapley.shapley_values(game, time_budget=budget, seed=seed)
    seconds = time.perf_counter() - began
    gain = float(game.gains(np.ones((1, n), dtype=bool))[0])
    row: dict[str, Any] = {
        "shape": shape, "n": n, "touchpoints": len(scenario.touchpoints),
        "k": max(part.size for _, part in game.parts), "setup_s": setup, "values_s": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "method": found.method if found else "skipped",
        "orders": found.orders if found else 0, "max_rel_se": None, "sum_error": None}
    if found is not None:
        row["sum_error"] = abs(sum(found.values.values()) - gain) / max(1.0, abs(gain))
        if found.errors:
            row["max_rel_se"] = max(found.errors.values()) / max(1.0, abs(gain))
    return row


def _worker(queue: Any, args: tuple[str, int, int, float]) -> None:
    queue.put(measure(*args))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds for the values")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    shapes = SHAPES if args.shape == "all" else (args.shape,)
    rows = []
    context = multiprocessing.get_context("spawn")
    for shape in shapes:
        for n in (int(s) for s in args.sizes.split(",")):
            queue = context.Queue()
            proc = context.Process(target=_worker, args=(queue, (shape, n, args.seed,
                                                                 args.budget)))
            proc.start()
            row = queue.get()
            proc.join()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    head = ("shape", "n", "touchpoints", "k", "setup s", "values s", "peak MiB", "method",
            "orders", "max SE / gain", "|Σφ − gain| / gain")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        se = "—" if r["max_rel_se"] is None else f"{r['max_rel_se']:.2e}"
        err = "—" if r["sum_error"] is None else f"{r['sum_error']:.1e}"
        print(f"| {r['shape']} | {r['n']} | {r['touchpoints']} | {r['k']} | {r['setup_s']:.3f} "
              f"| {r['values_s']:.3f} | {r['peak_mib']:.0f} | {r['method']} | {r['orders']} "
              f"| {se} | {err} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
