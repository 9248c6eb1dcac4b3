"""CPU time of building the model: journey, `build_model`, `compile_model`, start values.

    .venv/bin/python benchmarks/build_speed.py --sizes 1000,10000 [--profile DIR]

The machine is shared, so this reports CPU time (`time.process_time`) of each stage in
this process, not wall time. `--profile DIR` writes a cProfile dump and a text summary
of `build_model` + `compile_model` per size.
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


def _cpu(out: dict[str, float], key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    began = time.process_time()
    value = fn(*args, **kwargs)
    out[key] = time.process_time() - began
    return value


def measure(size: int, shape: str, seed: int, profile: str | None) -> dict[str, float]:
    import cxplan
    from cxplan.core.journey import build_journey
    from cxplan.optimizer.highs import compile_model
    from cxplan.optimizer.model import build_model
    from cxplan.plugins import get_plugin_manager

    scenario = cxplan.load_scenario(realistic_scenario(size, seed=seed, shape=shape))
    plugins = get_plugin_manager()
    registered = plugins.criteria()
    criteria = {name: registered[name] for name in scenario.criteria}
    out: dict[str, float] = {}
    journey = _cpu(out, "journey", build_journey, scenario)

    def build_and_compile() -> Any:
        model = _cpu(out, "model", build_model, scenario, journey, criteria,
                     extra_constraints=[plugins.constraints_for])
        _cpu(out, "compile", compile_model, model.problem, model.x)
        return model

    if profile:
        import cProfile
        import pstats

        directory = Path(profile)
        directory.mkdir(parents=True, exist_ok=True)
        profiler = cProfile.Profile()
        model = profiler.runcall(build_and_compile)
        stem = directory / f"build-n{size}-{shape}"
        profiler.dump_stats(f"{stem}.prof")
        with open(f"{stem}.txt", "w") as fh:
            stats = pstats.Stats(profiler, stream=fh).strip_dirs()
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(30)
    else:
        model = build_and_compile()
    greedy = list(scenario.improvement_ids[: len(scenario.improvement_ids) // 4])
    _cpu(out, "start_values", model.context.start_values, greedy)
    out["columns"] = float(len(model.problem.variables()))
    out["rows"] = float(len(model.problem.constraints()))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--shape", choices=("realistic", "dense"), default="realistic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", metavar="DIR")
    args = p.parse_args(argv)
    print(f"{'size':>6} {'journey':>8} {'model':>8} {'compile':>8} {'start':>8} "
          f"{'columns':>8} {'rows':>8}   (CPU seconds)")
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, args.shape, args.seed, args.profile)
        print(f"{size:>6} {r['journey']:>8.2f} {r['model']:>8.2f} {r['compile']:>8.2f} "
              f"{r['start_values']:>8.2f} {r['columns']:>8.0f} {r['rows']:>8.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
