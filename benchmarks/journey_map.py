"""Benchmark: laying out the journey map (nodes, routed edges, labels) by journey size.

    .venv/bin/python benchmarks/journey_map.py [--sizes 40 100 150 200 300]

Scenarios from `benchmarks.generate.realistic_scenario` with N improvements have about
N/2 touchpoints; a map is drawn up to 150 touchpoints (`MAP_LIMIT`). Prints a table:
touchpoints, edges, edges routed on the grid (no clear curve), layout time, peak memory.
Plans are not solved: the map is drawn for the greedy-free empty plan (nothing funded),
which is what the layout depends on besides the badges.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from benchmarks.generate import realistic_scenario  # noqa: E402
from cxplan import load_scenario  # noqa: E402
from cxplan.core.journey import build_journey  # noqa: E402
from cxplan.report import routing  # noqa: E402
from cxplan.report.journeymap import build_map  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 100, 200, 300])
    args = parser.parse_args()
    print(f"{'improvements':>12} {'touchpoints':>11} {'edges':>6} {'routed':>6} "
          f"{'layout s':>9} {'peak MB':>8}")
    for size in args.sizes:
        scenario = load_scenario(realistic_scenario(size, seed=0))
        journey = build_journey(scenario)
        empty = journey.evaluate(frozenset())
        routed = 0
        original = routing._grid_route

        def counting(*a: object, **k: object) -> object:
            nonlocal routed
            routed += 1
            return original(*a, **k)  # type: ignore[arg-type]

        routing._grid_route = counting  # type: ignore[assignment]
        tracemalloc.start()
        began = time.perf_counter()
        drawn = build_map(scenario, journey, empty, empty, [])
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        routing._grid_route = original  # type: ignore[assignment]
        edges = len(drawn.edges) if drawn else 0
        print(f"{size:>12} {len(scenario.touchpoints):>11} {edges:>6} {routed:>6} "
              f"{seconds:>9.2f} {peak:>8.1f}" + ("" if drawn else "   (no map: too large)"))


if __name__ == "__main__":
    main()
