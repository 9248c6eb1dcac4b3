"""What plugins cost: `cxplan --help` with plugins loaded, and explaining a conflict that
involves plugin constraints.

    .venv/bin/python benchmarks/plugins.py [--repeat 7] [--sizes 100,1000] [--rows 10]

1. `--help`, in fresh processes (median of `--repeat`): with the installed plugins
   only; plus a local plugin that imports its section model inside the hook (the
   pattern of docs/plugins.md, "Keeping --help fast"); plus one that imports it (and
   so pydantic) at the top of the module. Wall and CPU time of the child, its peak
   memory.
2. An infeasible plan whose conflict is among plugin rows: a generated backlog with
   `--rows` counting rules ("at least all of these 3"), the budget too small for them;
   the time from `optimize` to the `InfeasibleError` naming the minimal conflict.

The machine may be shared: CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402

LAZY = '''from cxplan.plugin_api import hookimpl


@hookimpl
def cxplan_scenario_sections():
    from pydantic import BaseModel

    class Caps(BaseModel):
        per_owner: int = 2

    return {"caps_lazy": Caps}
'''
EAGER = '''from pydantic import BaseModel

from cxplan.plugin_api import hookimpl


class Caps(BaseModel):
    per_owner: int = 2


@hookimpl
def cxplan_scenario_sections():
    return {"caps_eager": Caps}
'''


def _child(args: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024  # the largest child so far, in MiB


def help_rows(repeat: int, folder: Path) -> list[dict[str, Any]]:
    lazy, eager = folder / "caps_lazy.py", folder / "caps_eager.py"
    lazy.write_text(LAZY, encoding="utf-8")
    eager.write_text(EAGER, encoding="utf-8")
    cxplan = [sys.executable, "-m", "cxplan"]
    cases = {"installed plugins": [*cxplan, "--help"],
             "+ lazy section plugin": [*cxplan, "--plugin", str(lazy), "--help"],
             "+ eager section plugin": [*cxplan, "--plugin", str(eager), "--help"]}
    rows = []
    for label, args in cases.items():
        _child(args)  # warm the file cache
        runs = [_child(args) for _ in range(repeat)]
        rows.append({"case": label, "wall": statistics.median(r[0] for r in runs),
                     "cpu": statistics.median(r[1] for r in runs),
                     "rss": max(r[2] for r in runs)})
    return rows


def conflict_row(size: int, rows: int, seed: int) -> dict[str, Any]:
    from cxplan.plugin_api import InfeasibleError, hookimpl, load_scenario, optimize
    from cxplan.testing import plugin_manager

    data = realistic_scenario(size, seed=seed)
    rng = random.Random(seed)
    ids = [imp["id"] for imp in data["improvements"] if not imp.get("mandatory")]
    groups = [rng.sample(ids, 3) for _ in range(rows)]
    costs = {imp["id"]: imp["cost"] for imp in data["improvements"]}
    # the budget holds all groups but one: some pair of rules and the budget conflict
    data["budget"] = sum(costs[i] for g in groups for i in set(g)) * 0.5

    class AllOf:
        @hookimpl
        def cxplan_constraints(self, ctx: Any) -> list[tuple[str, object]]:
            import pulp

            return [(f"all-of[{k}]", pulp.lpSum(ctx.x[i] for i in g) >= len(g))
                    for k, g in enumerate(groups)]

    manager = plugin_manager(("rules", AllOf()))
    scenario = load_scenario(data, plugins=manager)
    began = time.perf_counter()
    cpu = time.process_time()
    try:
        optimize(scenario, plugins=manager)
        conflict: list[str] = []
    except InfeasibleError as exc:
        conflict = exc.conflict
    return {"size": size, "rows": rows, "wall": time.perf_counter() - began,
            "cpu": time.process_time() - cpu, "conflict": len(conflict),
            "plugin rows": sum(c.startswith("rules:") for c in conflict)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = help_rows(args.repeat, Path(tmp))
    print(f"cxplan --help (median of {args.repeat} fresh processes; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'case':<26}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}")
    for row in found:
        print(f"{row['case']:<26}{row['wall']:>8.3f}{row['cpu']:>8.3f}{row['rss']:>10.0f}")
    print()
    print("explaining a conflict among plugin rows (optimize -> InfeasibleError)")
    print(f"{'improvements':>12}{'rules':>7}{'wall s':>8}{'CPU s':>8}{'named':>7}"
          f"{'of them rules':>15}")
    for size in (int(s) for s in args.sizes.split(",")):
        row = conflict_row(size, args.rows, args.seed)
        print(f"{row['size']:>12}{row['rows']:>7}{row['wall']:>8.2f}{row['cpu']:>8.2f}"
              f"{row['conflict']:>7}{row['plugin rows']:>15}")


if __name__ == "__main__":
    main()
