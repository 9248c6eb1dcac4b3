"""Compare HiGHS option sets on generated scenarios (same model, same greedy start).

    .venv/bin/python benchmarks/solver_options.py --size 500 --seeds 0,1 \\
        --variants default,heur,norestart --time-limit 60

Each variant solves the same built model in a fresh HiGHS instance; the table gives
wall and CPU seconds, status, gap, nodes. Variants are defined in VARIANTS below
(HiGHS option name → value, applied after cxplan's own settings).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "heur0.02": {"mip_heuristic_effort": 0.02},
    "heur0.1": {"mip_heuristic_effort": 0.1},
    "heur0.2": {"mip_heuristic_effort": 0.2},
    "norestart": {"mip_allow_restart": False},
    "norins": {"mip_heuristic_run_rins": False},
    "norens": {"mip_heuristic_run_rens": False},
    "norrc": {"mip_heuristic_run_root_reduced_cost": False},
    "nofj": {"mip_heuristic_run_feasibility_jump": False},
    "nosubmip": {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
                 "mip_heuristic_run_root_reduced_cost": False},
    "age5": {"mip_lp_age_limit": 5},
    "age20": {"mip_lp_age_limit": 20},
    "nosym": {"mip_detect_symmetry": False},
    "pool1000": {"mip_pool_soft_limit": 1000},
    "primal": {"simplex_strategy": 4},
    "ipm": {"mip_lp_solver": "ipm"},
    "nopresolve": {"presolve": "off"},
    "gap1e-4": {"mip_rel_gap": 1e-4},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=500)
    p.add_argument("--seeds", default="0")
    p.add_argument("--shape", default="realistic")
    p.add_argument("--variants", default="default")
    p.add_argument("--time-limit", type=float, default=60.0)
    args = p.parse_args(argv)

    import cxplan
    from cxplan.api import prepare
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.session import Session

    for seed in (int(s) for s in args.seeds.split(",")):
        scenario = cxplan.load_scenario(realistic_scenario(args.size, seed=seed,
                                                          shape=args.shape))
        prepared = prepare(scenario)
        start = prepared.greedy(max(0.5, args.time_limit / 10))
        values = prepared.model.context.start_values(start) if start is not None else None
        for name in args.variants.split(","):
            options = SolverOptions(time_limit=args.time_limit)
            session = Session(prepared.model.problem, prepared.model.x, options)
            for option, value in VARIANTS[name].items():
                session.highs.setOptionValue(option, value)
            cpu, wall = time.process_time(), time.perf_counter()
            result = session.solve(start, values)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            gain = prepared.journey.evaluate(result.selected).value - \
                prepared.journey.evaluate(()).value
            print(f"size={args.size} seed={seed} {name:>12}: wall {wall:6.2f} s, "
                  f"cpu {cpu:6.2f} s, {result.status:10} gap {result.gap or 0:.1e} "
                  f"nodes {result.nodes:6d} gain {gain:.6e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
