"""How fast the live what-if page (`cxplan serve`) shows the plan of a change.

For each scenario a real server is started and headless Chromium (Playwright) drives the
page as a consultant would: it moves the budget slider or a team's slider, or forces an
improvement in or out, one change at a time, each to a position not asked before (so no
answer comes from the page's cache), and measures from the change until the page shows the
new plan. That includes the page's 120 ms pause for a dragged slider to settle, the
request, the solve, the journey map and the drawing.

    .venv/bin/python benchmarks/serve_latency.py                      # bundled examples
    .venv/bin/python benchmarks/serve_latency.py --changes 40 scenarios/restaurant.yaml

Prints one row per scenario: improvements, changes timed, infeasible changes (answered
with their conflict, then undone; not timed), the first load, p50, p95 and max (s).
Needs Chromium (`chromium` on the PATH, or CXPLAN_CHROMIUM) and the dev extra.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from benchmarks.serving import serving
from cxplan import load_scenario

ROOT = Path(__file__).resolve().parents[1]
# The roadmap example takes tens of seconds per solve: run it on its own (name it).
DEFAULT = [p for p in sorted((ROOT / "scenarios").glob("*.yaml")) if "roadmap" not in p.name]


def _wait_answered(page: Page, after: int) -> None:
    page.wait_for_function(
        "n => { const app = document.getElementById('app'); return Number(app.dataset.answered"
        " || 0) > n && app.getAttribute('aria-busy') === 'false'; }", arg=after,
        timeout=600_000, polling=20)


def _answered(page: Page) -> int:
    return int(page.evaluate("() => document.getElementById('app').dataset.answered || 0"))


def _same(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def _make(page: Page, change: tuple[str, str]) -> None:
    if change[0].startswith("select"):
        page.select_option(change[0], change[1])
    else:
        page.locator(change[0]).fill(change[1])


def measure(scenario: Path, changes: int, seed: int, chromium: str) -> dict[str, Any]:
    loaded = load_scenario(scenario)
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    with serving(scenario) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        began = time.perf_counter()
        page.goto(server.url)
        _wait_answered(page, 0)
        first = time.perf_counter() - began
        times: list[float] = []
        conflicts = 0
        while len(times) < changes:
            kind = rng.choice(["budget", "team", "force"])
            if kind == "budget" and loaded.budget:
                step = rng.randint(20, 200)
                change: tuple[str, str] = ("#budget", str(loaded.budget * step / 100))
            elif kind == "team" and loaded.teams:
                team = rng.choice(sorted(loaded.teams))
                capacity = loaded.teams[team]
                change = (f"#team-{team}", str(rng.randint(0, int(max(capacity * 2, 5)))))
            else:
                imp = rng.choice(loaded.improvement_ids)
                change = (f'select[data-id="{imp}"]', rng.choice(["in", "out", "auto"]))
            if change in seen:
                continue
            seen.add(change)
            undo = page.eval_on_selector(change[0], "el => el.value")
            if _same(undo, change[1]):
                continue  # no change: the page asks nothing
            before = _answered(page)
            started = time.perf_counter()
            _make(page, change)
            _wait_answered(page, before)
            elapsed = time.perf_counter() - started
            if page.evaluate("() => 'error' in document.getElementById('app').dataset"):
                # infeasible: the page names the conflict; undone, and not timed
                conflicts += 1
                before = _answered(page)
                _make(page, (change[0], undo))
                _wait_answered(page, before)
                continue
            times.append(elapsed)
        browser.close()
    times.sort()
    return {"scenario": scenario.stem, "improvements": len(loaded.improvements),
            "changes": len(times), "conflicts": conflicts, "first": first,
            "p50": statistics.median(times),
            "p95": times[max(0, round(0.95 * len(times)) - 1)], "max": times[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=DEFAULT)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    chromium = os.environ.get("CXPLAN_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        print("needs Chromium: install the `chromium` package or set CXPLAN_CHROMIUM",
              file=sys.stderr)
        return 2
    print(f"{'scenario':34} {'impr.':>5} {'changes':>7} {'infeas.':>7} {'first s':>8} "
          f"{'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for scenario in args.scenarios:
        row = measure(scenario, args.changes, args.seed, chromium)
        print(f"{row['scenario']:34} {row['improvements']:>5} {row['changes']:>7} "
              f"{row['conflicts']:>7} "
              f"{row['first']:>8.2f} {row['p50']:>7.2f} {row['p95']:>7.2f} {row['max']:>7.2f}",
              flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
