"""The whole command under `--time-limit`: `cxplan plan` on generated backlogs, phase by
phase (issue 17's table).

    .venv/bin/python benchmarks/time_limit.py                      # 100, 500, 1000; 3 seeds
    .venv/bin/python benchmarks/time_limit.py --sizes 10000 --seeds 5 --unreachable 0.8
    .venv/bin/python benchmarks/time_limit.py --sizes 500 --no-marginals --time-limit 20

Each case writes `realistic_scenario(size, seed=S, personas=2, unreachable=U)` as YAML
and runs the console script (`cxplan plan FILE --json --quiet --time-limit L`) in a fresh
process, as a user would; the table gives the wall time from outside, the command's own
`timings` per phase (start = the process and its imports), the status and proven gap,
the marginal values' statuses, and the process's peak memory (`ru_maxrss`, printed as it
exits). The load average is printed with the table: on a busy machine the walls are
upper bounds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks.generate` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402
from benchmarks.guards import REPORT_PEAK  # noqa: E402

PHASES = ("start", "read", "build", "solve", "plan", "marginal_values", "shapley")


def run_case(size: int, seed: int, unreachable: float, limit: float, extra: list[str],
             folder: Path) -> dict[str, Any]:
    path = folder / f"gen-{size}-{seed}-{unreachable:g}.yaml"
    if not path.exists():
        data = realistic_scenario(size, seed=seed, personas=2, unreachable=unreachable)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", REPORT_PEAK, "plan", str(path), "--json",
                            "--quiet", "--time-limit", str(limit), *extra],
                           capture_output=True, env=env, check=False)
    wall = time.perf_counter() - began
    out, err = child.stdout.decode(), child.stderr.decode()
    plan = json.loads(out) if out.strip().startswith("{") else {}
    peaks = [line.split()[1] for line in err.splitlines() if line.startswith("PEAK-KIB ")]
    marginals = plan.get("marginal_values") or []
    kinds = collections.Counter(
        m["status"] if m.get("solved", True) else "range" for m in marginals)
    return {"size": size, "seed": seed, "unreachable": unreachable, "limit": limit,
            "wall": wall, "timings": plan.get("timings", {}), "status": plan.get("status"),
            "gap": plan.get("gap"), "exit": child.returncode,
            "peak_mib": int(peaks[-1]) / 1024 if peaks else None,
            "marginals": dict(kinds), "shapley": (plan.get("shapley") or {}).get("method"),
            "stderr": err[-400:] if child.returncode else ""}


def _gap(value: float | None) -> str:
    if value is None:
        return "–"
    return "∞" if value == float("inf") else f"{100 * value:.3g} %"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| size | seed | unreach. | limit | wall s | " + " | ".join(PHASES)
            + " | status | gap | marginal values | Shapley | peak MiB |")
    lines = [head, "|" + "---:|" * 5 + "---:|" * len(PHASES) + "---|---:|---|---|---:|"]
    for r in rows:
        phases = " | ".join(f"{r['timings'][p]:.2f}" if p in r["timings"] else "–"
                            for p in PHASES)
        marginal = ", ".join(f"{n} {k}" for k, n in sorted(r["marginals"].items())) or "–"
        peak = f"{r['peak_mib']:.0f}" if r["peak_mib"] is not None else "–"
        status = r["status"] if r["exit"] == 0 else f"exit {r['exit']}"
        lines.append(f"| {r['size']} | {r['seed']} | {r['unreachable']:g} | {r['limit']:g} | "
                     f"{r['wall']:.1f} | {phases} | {status} | {_gap(r['gap'])} | {marginal} | "
                     f"{r['shapley'] or '–'} | {peak} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds, from "
                        "--first-seed on")
    parser.add_argument("--first-seed", type=int, default=1, help="(0 is the benchmarks' "
                        "default seed: left out by default so as not to tune to it)")
    parser.add_argument("--unreachable", default="0.8,0",
                        help="shares of unreachable lanes, comma-separated")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--no-marginals", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args()
    extra = ["--no-marginals"] if args.no_marginals else []
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            for unreachable in (float(u) for u in args.unreachable.split(",")):
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    row = run_case(size, seed, unreachable, args.time_limit, extra,
                                   Path(folder))
                    rows.append(row)
                    print(f"done {size} seed {seed} unreachable {unreachable:g}: "
                          f"{row['wall']:.1f} s {row['status']}", file=sys.stderr, flush=True)
    print(table(rows))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
