"""Benchmark: laying out the journey map (nodes, routed edges, labels) by journey size.

    .venv/bin/python benchmarks/journey_map.py [--sizes 40 100 200 300]

Scenarios from `benchmarks.generate.realistic_scenario` with N improvements have about
N/2 touchpoints; a map is drawn up to 150 touchpoints (`MAP_LIMIT`). Prints a table:
touchpoints, edges, edges routed on the grid (no clear curve), layout time, peak memory
(tracemalloc, measured in a second run so it does not slow the timed one). Nothing is
funded: the layout depends on the journey, the plan only adds badges.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> None:
    from benchmarks.generate import realistic_scenario
    from cxplan import load_scenario
    from cxplan.core.journey import build_journey
    from cxplan.report.journeymap import build_map

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 100, 200, 300])
    args = parser.parse_args()
    print(f"{'improvements':>12} {'touchpoints':>11} {'edges':>6} {'routed':>6} "
          f"{'layout s':>9} {'peak MB':>8}")
    for size in args.sizes:
        scenario = load_scenario(realistic_scenario(size, seed=0))
        journey = build_journey(scenario)
        empty = journey.evaluate(frozenset())
        began = time.perf_counter()
        drawn = build_map(scenario, journey, empty, empty, [])
        seconds = time.perf_counter() - began
        tracemalloc.start()
        build_map(scenario, journey, empty, empty, [])
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        edges = drawn.edges if drawn else ()
        print(f"{size:>12} {len(scenario.touchpoints):>11} {len(edges):>6} "
              f"{sum(e.routed for e in edges):>6} {seconds:>9.2f} {peak:>8.1f}"
              + ("" if drawn else "   (no map: too large)"))


if __name__ == "__main__":
    main()
