"""Resource guards: the red team's backlogs, run as `cxplan plan` with a time limit.

    .venv/bin/python benchmarks/guards.py                 # every case
    .venv/bin/python benchmarks/guards.py --cases roadmap,threads

Each case writes its scenario as JSON and runs `cxplan plan FILE --json --quiet
--time-limit S` in a fresh process; the table gives the limit, the wall time, the
process's peak memory (its `ru_maxrss`, printed as it exits), the status and the warnings
that say what was reduced. Cases (issue 17): a roadmap of 1 000 improvements × 120
periods (took 156 s and 11.1 GB with a 10 s limit), `--threads 100000` on a small
scenario (never ended), 200 personas (24 of 30 s went to ordering after the clock), 100
teams with marginal values and a 2 s limit (took 107 s).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks.generate` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402
from benchmarks.roadmap import roadmap_scenario  # noqa: E402


def many_personas(count: int, improvements: int = 200) -> dict[str, Any]:
    """The generator's scenario with `count` personas, alternating its two kinds."""
    data = realistic_scenario(improvements, seed=0, personas=2)
    kinds = data["personas"]
    data["personas"] = [dict(copy.deepcopy(kinds[k % 2]), id=f"segment-{k}",
                             name=f"Segment {k}", customers=100 + 7 * k) for k in range(count)]
    return data


def many_teams(count: int, improvements: int = 200) -> dict[str, Any]:
    """The generator's scenario with its staff spread over `count` teams, each about half
    as large as its improvements' demand, so that every team binds: one marginal-value
    re-solve each."""
    data = realistic_scenario(improvements, seed=0, personas=2)
    demand: dict[str, float] = {}
    for k, improvement in enumerate(data["improvements"]):
        people = sum(improvement["staff"].values()) or 1
        team = f"team-{k % count}"
        improvement["staff"] = {team: people}
        demand[team] = demand.get(team, 0) + people
    data["teams"] = {team: max(1, round(need / 2)) for team, need in demand.items()}
    return data


CASES: dict[str, tuple[Any, float, list[str]]] = {
    "roadmap": (lambda: roadmap_scenario(1000, 120), 10.0, []),
    "threads": (lambda: realistic_scenario(100, seed=0), 2.0, ["--threads", "100000"]),
    "personas": (lambda: many_personas(200), 30.0, ["--no-marginals"]),
    # 100 binding teams: 101 marginal-value re-solves (each was given at least 1 s: 107 s)
    "teams": (lambda: many_teams(100), 2.0, []),
}


# the console script, reporting the process's peak memory on stderr as it exits
REPORT_PEAK = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('PEAK-KIB', resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss, file=sys.stderr))\n"
    "sys.argv[0] = 'cxplan'\n"
    "from cxplan.cli import console\n"
    "console()\n")


def run_case(name: str, folder: Path) -> dict[str, Any]:
    make, limit, extra = CASES[name]
    path = folder / f"{name}.json"
    path.write_text(json.dumps(make()), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", REPORT_PEAK, "plan", str(path), "--json",
                            "--quiet", "--time-limit", str(limit), *extra],
                           capture_output=True, env=env)
    wall = time.perf_counter() - began
    out, err = child.stdout.decode(), child.stderr.decode()
    plan = json.loads(out) if out.strip().startswith("{") else {}
    peaks = [line.split()[1] for line in err.splitlines() if line.startswith("PEAK-KIB ")]
    return {"case": name, "limit_s": limit, "wall_s": wall,
            "peak_mib": int(peaks[-1]) / 1024 if peaks else None,
            "exit": child.returncode, "status": plan.get("status"),
            "warnings": [w.split(":")[0][:70] for w in plan.get("warnings", [])],
            "stderr": err[-300:] if child.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.cases.split(","):
            rows.append(run_case(name, Path(folder)))
            print(f"done {name}", file=sys.stderr)
    print("| case | limit s | wall s | peak MiB | exit | status | warnings |")
    print("|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        peak = f"{r['peak_mib']:.0f}" if r["peak_mib"] is not None else "–"
        print(f"| {r['case']} | {r['limit_s']:g} | {r['wall_s']:.1f} | {peak} | {r['exit']} "
              f"| {r['status']} | {'; '.join(r['warnings'])} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
