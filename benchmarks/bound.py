"""A proven bound on large backlogs (issue 17): `cxplan plan --time-limit 60 --no-marginals`
on the generator's realistic shape, run as users run it.

    .venv/bin/python benchmarks/bound.py                      # 10 000 improvements, seeds 0-2,
                                                             # 80 % and 0 % of lanes closed
    .venv/bin/python benchmarks/bound.py --sizes 1000,10000 --seeds 3,4 --unreachable 0.8

Each case writes `realistic_scenario(N, seed=S, personas=2, unreachable=U)` (one touchpoint
per two improvements; a share U of the lanes no customer reaches) as YAML and runs
`cxplan plan FILE --json --quiet --time-limit L --no-marginals` in a fresh process, one
case at a time. The table gives the phases of `timings` (read: loading and validating the
YAML; build: journey and model; solve: start, LP relaxation and MIP; plan: re-evaluation,
ranking and attribution), the wall time of the whole command, its status, proven gap and
peak memory (`ru_maxrss`). Targets (issue 17) at 10 000 × 5 000 in 60 s: gap ≤ 1 % (must),
≤ 0.1 % (goal), peak ≤ 4 GiB. The load average is printed: on a shared machine the
phases' seconds vary by up to 2×.
"""

from __future__ import annotations

import argparse
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

PHASES = ("read", "build", "solve", "plan")


def run_case(size: int, seed: int, unreachable: float, limit: float,
             folder: Path) -> dict[str, Any]:
    """Write one scenario and time `cxplan plan` on it in a fresh process."""
    path = folder / f"realistic-{size}-{seed}-{unreachable:g}.yaml"
    data = realistic_scenario(size, seed=seed, personas=2, unreachable=unreachable)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    load = os.getloadavg()[0]
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", REPORT_PEAK, "plan", str(path), "--json",
                            "--quiet", "--time-limit", str(limit), "--no-marginals"],
                           capture_output=True, env=env)
    wall = time.perf_counter() - began
    out, err = child.stdout.decode(), child.stderr.decode()
    plan = json.loads(out) if out.strip().startswith("{") else {}
    peaks = [line.split()[1] for line in err.splitlines() if line.startswith("PEAK-KIB ")]
    timings = plan.get("timings", {})
    return {"size": size, "seed": seed, "unreachable": unreachable, "limit_s": limit,
            **{f"{p}_s": timings.get(p) for p in PHASES}, "wall_s": wall,
            "exit": child.returncode, "status": plan.get("status"), "gap": plan.get("gap"),
            "funded": len(plan.get("selected", [])),
            "peak_mib": int(peaks[-1]) / 1024 if peaks else None, "load": load,
            "stderr": err[-300:] if child.returncode else ""}


def _cell(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| size | seed | unreachable | read s | build s | solve s | plan s | wall s "
             "| status | gap | funded | peak MiB | load |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        gap = "–" if r["gap"] is None else f"{100 * r['gap']:.3f} %"
        lines.append(
            f"| {r['size']} | {r['seed']} | {r['unreachable']:g} "
            + "".join(f"| {_cell(r[f'{p}_s'], '.1f')} " for p in PHASES)
            + f"| {r['wall_s']:.1f} | {r['status'] or 'exit ' + str(r['exit'])} | {gap} "
            f"| {r['funded']} | {_cell(r['peak_mib'], '.0f')} | {r['load']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--unreachable", default="0.8,0",
                        help="shares of closed lanes (comma-separated)")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for share in (float(u) for u in args.unreachable.split(",")):
            for size in (int(n) for n in args.sizes.split(",")):
                for seed in (int(s) for s in args.seeds.split(",")):
                    rows.append(run_case(size, seed, share, args.time_limit, Path(folder)))
                    print(f"done {size} seed {seed} unreachable {share:g}: "
                          f"{rows[-1]['status']} {rows[-1]['wall_s']:.1f} s", file=sys.stderr)
    print(table(rows))
    print(f"\n{os.cpu_count()} CPUs; load average at the end: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
