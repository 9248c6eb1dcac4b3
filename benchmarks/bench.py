"""Benchmark cxplan's optimizer on generated scenarios, stage by stage and end to end.

    .venv/bin/python benchmarks/bench.py [--sizes 50,100,500,1000] [--time-limit 60]
        [--shape realistic|dense] [--seed 0] [--json out.json]

Every size runs in fresh subprocesses (so `ru_maxrss` is that size's peak memory) with
OMP/OpenBLAS/MKL pinned to one thread:

1. "stages": validation (`load_scenario`), journey build (`build_journey`), model build
   (`build_model`, with the registered criteria and the plugins' constraints), greedy
   start (`Prepared.greedy`, with the same objective and time budget as `optimize`), a
   separate `compile_model` (PuLP → HiGHS arrays; `solve` compiles again inside), the
   solve (`solve`, with the greedy start), model size, and greedy gain / solver gain
   (both re-evaluated with the exact Markov evaluator).
2. "e2e": `cxplan.optimize(scenario, options=SolverOptions(time_limit=...))` timed as a
   whole, in its own process (its peak memory is the "peak MiB" column).

See benchmarks/README.md for the columns and how to profile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks.generate` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import describe, realistic_scenario  # noqa: E402

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
RESULT_MARK = "BENCH-RESULT "
DEFAULT_SIZES = (50, 100, 500, 1000)


class BuildTimeout(Exception):
    """Raised (by SIGALRM) when building the model takes longer than --build-timeout."""


# -- worker side (runs in a fresh subprocess per size and mode) -------------------------------

class _Progress:
    def __init__(self, label: str) -> None:
        self.label = label
        self.began = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.began
        print(f"[{self.label} {elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _timed(results: dict[str, Any], key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    began = time.perf_counter()
    value = fn(*args, **kwargs)
    results[key] = time.perf_counter() - began
    return value


def _constraints(problem: Any) -> list[Any]:
    # PuLP 3.3+: `constraints()` is the list (PuLP 4 style); older: a dict attribute
    constraints = problem.constraints
    return list(constraints()) if callable(constraints) else list(constraints.values())


def _model_size(problem: Any) -> dict[str, int]:
    constraints = _constraints(problem)
    nonzeros = sum(1 for c in constraints for _, coef in c.items() if coef)
    return {
        "columns": len(problem.variables()),
        "rows": len(constraints),
        "nonzeros": nonzeros,
        "objective_nonzeros": sum(1 for _, coef in problem.objective.items() if coef),
    }


def run_stages(
    size: int, shape: str, seed: int, time_limit: float, build_timeout: float | None
) -> dict[str, Any]:
    """The steps of `cxplan.api.optimize`, timed one by one (plus a separate compile).

    The solve gets the full time limit here (the solver's own behaviour); `optimize`,
    measured end to end in the e2e worker, gives it what build and greedy left.
    """
    log = _Progress(f"n={size} stages")
    out: dict[str, Any] = {"size": size, "mode": "stages"}
    data = _timed(out, "generate_s", realistic_scenario, size, seed=seed, shape=shape)
    out["scenario"] = describe(data)
    log(f"generated {out['scenario']['touchpoints']} touchpoints, "
        f"{out['scenario']['personas']} personas")

    import inspect
    import signal

    import cxplan
    from cxplan import api
    from cxplan.core.evaluation import criterion_values
    from cxplan.core.journey import build_journey
    from cxplan.core.ranking import rank
    from cxplan.optimizer.greedy import greedy_plan
    from cxplan.optimizer.highs import compile_model
    from cxplan.optimizer.model import build_model
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.session import solve
    from cxplan.plugins import get_plugin_manager

    scenario = _timed(out, "validate_s", cxplan.load_scenario, data)
    log(f"validated in {out['validate_s']:.2f} s")
    options = SolverOptions(time_limit=time_limit)
    scenario = api.apply_limits(scenario, None, None)
    plugins = get_plugin_manager()
    registered = plugins.criteria()
    criteria = {name: registered[name] for name in scenario.criteria}

    def alarm(signum: int, frame: Any) -> None:
        raise BuildTimeout

    if build_timeout:
        signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, build_timeout)
    began = time.perf_counter()
    try:
        journey = _timed(out, "journey_s", build_journey, scenario)
        log(f"journey built in {out['journey_s']:.2f} s")
        model = _timed(out, "model_s", build_model, scenario, journey, criteria,
                       extra_constraints=[plugins.constraints_for])
    except BuildTimeout:
        out["error"] = (f"model build stopped after {time.perf_counter() - began:.0f} s "
                        f"(--build-timeout {build_timeout:g})")
        out["build_s"] = time.perf_counter() - began
        out["status"] = "build_timeout"
        out["peak_mib"] = _peak_mib()
        log(out["error"])
        return out
    finally:
        if build_timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
    out["build_s"] = out["journey_s"] + out["model_s"]
    log(f"model built in {out['model_s']:.2f} s")
    out.update(_model_size(model.problem))
    log(f"model: {out['columns']} columns, {out['rows']} rows, {out['nonzeros']} nonzeros")

    calls = 0

    def objective(selection: frozenset[str]) -> float:  # as `Prepared.objective`
        nonlocal calls
        calls += 1
        values, _ = criterion_values(scenario, journey, criteria, tuple(selection))
        return sum(v.weight * v.value for v in values.values())

    greedy_budget = max(0.5, options.time_limit / 10)  # as in cxplan.api.optimize
    prepared_cls = getattr(api, "Prepared", None)
    if prepared_cls is not None and hasattr(prepared_cls, "greedy"):
        # The start exactly as `optimize` makes it (first-order estimates seed the queue,
        # batched rounds on large backlogs), with evaluations counted.
        staged = prepared_cls(scenario, journey, criteria, 0.0, model=model)
        staged.objective = objective
        first = _timed(out, "greedy_s", staged.greedy, greedy_budget)
    else:
        first = _timed(out, "greedy_s", greedy_plan, scenario, objective,
                       time_budget=greedy_budget)
    out["greedy_budget_s"] = greedy_budget
    out["greedy_evaluations"] = calls
    out["greedy_hit_budget"] = out["greedy_s"] >= greedy_budget
    log(f"greedy in {out['greedy_s']:.2f} s ({calls} evaluations)")

    # A complete MIP start derived from the evaluator, where the model offers it.
    start_values = None
    start_fn = getattr(model.context, "start_values", None)
    if first is not None and start_fn is not None:
        start_values = _timed(out, "start_s", start_fn, first)
        log(f"start values in {out['start_s']:.2f} s")

    compiled = _timed(out, "compile_s", compile_model, model.problem, model.x)
    del compiled
    log(f"compiled (PuLP -> HiGHS arrays) in {out['compile_s']:.2f} s")

    extra = {}
    if start_values is not None and "start_values" in inspect.signature(solve).parameters:
        extra["start_values"] = start_values
    result = _timed(out, "solve_s", solve, model.problem, model.x, options, start=first,
                    **extra)
    log(f"solved in {out['solve_s']:.2f} s: {result.status}, gap {result.gap}")
    out.update(status=result.status, gap=result.gap, nodes=result.nodes,
               start_used=result.start_used, selected=len(result.selected))

    # What optimize does after the solve: exact re-evaluation, agreement check, ranking.
    prepared_cls = getattr(api, "Prepared", None)
    if prepared_cls is not None:
        prepared = prepared_cls(scenario, journey, criteria, out["build_s"], model=model)
        _timed(out, "plan_s", prepared.plan, result)
    else:
        _timed(out, "plan_s", rank, scenario, journey, result.selected)
    log(f"plan (re-evaluation + rank) in {out['plan_s']:.2f} s")

    baseline = journey.evaluate(()).value
    best_gain = journey.evaluate(result.selected).value - baseline
    greedy_gain = journey.evaluate(first or ()).value - baseline
    out.update(solver_gain=best_gain, greedy_gain=greedy_gain,
               greedy_ratio=greedy_gain / best_gain if best_gain else None)
    out["peak_mib"] = _peak_mib()
    return out


def run_e2e(size: int, shape: str, seed: int, time_limit: float,
            start_method: str = "auto") -> dict[str, Any]:
    """`cxplan.optimize` as a user calls it, timed as a whole."""
    log = _Progress(f"n={size} e2e")
    data = realistic_scenario(size, seed=seed, shape=shape)

    import cxplan
    from cxplan.optimizer.options import SolverOptions

    out: dict[str, Any] = {"size": size, "mode": "e2e", "start_method": start_method}
    scenario = _timed(out, "validate_s", cxplan.load_scenario, data)
    plan = _timed(out, "optimize_s", cxplan.optimize, scenario,
                  options=SolverOptions(time_limit=time_limit, start_method=start_method))
    out.update(status=plan.status, gap=plan.gap, nodes=plan.nodes, expected_gain=plan.expected_gain,
               selected=len(plan.selected), plan_build_s=plan.build_seconds,
               plan_solve_s=plan.solve_seconds, peak_mib=_peak_mib())
    log(f"optimize in {out['optimize_s']:.2f} s: {plan.status}")
    return out


def worker(args: argparse.Namespace) -> None:
    if args.worker == "stages":
        def job() -> dict[str, Any]:
            return run_stages(args.size, args.shape, args.seed, args.time_limit,
                              args.build_timeout)
    else:
        def job() -> dict[str, Any]:
            return run_e2e(args.size, args.shape, args.seed, args.time_limit,
                           args.start_method)
    if args.profile:
        import cProfile
        import pstats

        directory = Path(args.profile)
        directory.mkdir(parents=True, exist_ok=True)
        profiler = cProfile.Profile()
        result = profiler.runcall(job)
        stem = directory / f"{args.worker}-n{args.size}-{args.shape}"
        profiler.dump_stats(f"{stem}.prof")
        with open(f"{stem}.txt", "w") as fh:
            stats = pstats.Stats(profiler, stream=fh).strip_dirs()
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
        result["profile"] = f"{stem}.prof"
    else:
        result = job()
    print(RESULT_MARK + json.dumps(result), flush=True)


# -- parent side ------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({name: "1" for name in THREAD_VARS})
    return env


def spawn(mode: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its stderr (progress) is passed through."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", mode,
               "--size", str(size), "--shape", args.shape, "--seed", str(args.seed),
               "--time-limit", str(args.time_limit), "--start-method", args.start_method]
    if args.build_timeout:
        command += ["--build-timeout", str(args.build_timeout)]
    if args.profile:
        command += ["--profile", args.profile]
    began = time.perf_counter()
    proc = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    tail: list[str] = []
    chunks: list[str] = []

    def relay() -> None:  # progress lines, passed through as they come
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            tail.append(line.rstrip())
            del tail[:-20]

    def collect() -> None:
        assert proc.stdout is not None
        chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=f, daemon=True) for f in (relay, collect)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its handle
        proc.wait()
        for reader in readers:
            reader.join(5)
        return {"size": size, "mode": mode,
                "error": f"killed after {args.timeout:g} s (--timeout); last: "
                         f"{tail[-1] if tail else 'nothing'}"}
    for reader in readers:
        reader.join(5)
    stdout = "".join(chunks)
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK):])
            result["wall_s"] = time.perf_counter() - began
            return result
    return {"size": size, "mode": mode,
            "error": f"worker exited with {proc.returncode}: " + " | ".join(tail[-3:])}


def _num(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _gap(value: Any) -> str:
    if value is None:
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


COLUMNS = (
    # header, alignment, cell
    ("size", ">", lambda s, e: str(s["size"])),
    ("tps", ">", lambda s, e: str(s.get("scenario", {}).get("touchpoints", "-"))),
    ("q", ">", lambda s, e: str(s.get("scenario", {}).get("personas", "-"))),
    ("valid s", ">", lambda s, e: _num(s.get("validate_s"), ".2f")),
    ("build s", ">", lambda s, e: _num(s.get("build_s"), ".2f")),
    ("greedy s", ">", lambda s, e: _num(s.get("greedy_s"), ".2f")),
    ("start s", ">", lambda s, e: _num(s.get("start_s"), ".2f")),
    ("compile s", ">", lambda s, e: _num(s.get("compile_s"), ".2f")),
    ("solve s", ">", lambda s, e: _num(s.get("solve_s"), ".2f")),
    ("plan s", ">", lambda s, e: _num(s.get("plan_s"), ".2f")),
    ("total s", ">", lambda s, e: _num(e.get("optimize_s"), ".2f")),
    ("e2e gap", ">", lambda s, e: _gap(e.get("gap"))),
    ("e2e status", "<", lambda s, e: e.get("status", "-")),
    ("gap", ">", lambda s, e: _gap(s.get("gap"))),
    ("status", "<", lambda s, e: s.get("status", "error")),
    ("nodes", ">", lambda s, e: _num(s.get("nodes"), "d")),
    ("cols/rows", ">", lambda s, e: (f"{s['columns']}/{s['rows']}" if "columns" in s else "-")),
    ("nonzeros", ">", lambda s, e: _num(s.get("nonzeros"), "d")),
    ("greedy/opt", ">", lambda s, e: _num(s.get("greedy_ratio"), ".4f")),
    ("peak MiB", ">", lambda s, e: _num(e.get("peak_mib", s.get("peak_mib")), ".0f")),
)


def table(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    cells = [[h for h, _, _ in COLUMNS]]
    cells += [[cell(s, e) for _, _, cell in COLUMNS] for s, e in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(COLUMNS))]
    lines = []
    for r in cells:
        lines.append("  ".join(format(c, f"{align}{w}")
                               for c, (_, align, _), w in zip(r, COLUMNS, widths, strict=True)))
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"n={s['size']}: {msg}" for s, e in rows for msg in (s.get("error"), e.get("error"))
             if msg]
    return "\n".join(lines + notes)


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "time_limit": args.time_limit, "shape": args.shape, "seed": args.seed,
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
        "versions": {p: version(p) for p in ("cxplan", "PuLP", "highspy", "numpy", "scipy")},
        "threads": {name: "1" for name in THREAD_VARS},
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                   help="comma-separated numbers of improvements (default %(default)s)")
    p.add_argument("--time-limit", type=float, default=60.0,
                   help="solver time limit in seconds (default %(default)s)")
    p.add_argument("--shape", choices=("realistic", "dense"), default="realistic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-method", choices=("auto", "greedy", "relaxation"), default="auto",
                   help="SolverOptions.start_method of the end-to-end run (default auto)")
    p.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    p.add_argument("--no-e2e", action="store_true",
                   help="skip the end-to-end cxplan.optimize run (halves the run time)")
    p.add_argument("--profile", metavar="DIR",
                   help="run the workers under cProfile; .prof and .txt files go to DIR "
                        "(profiling slows pure-Python code: do not compare its timings)")
    p.add_argument("--build-timeout", type=float, default=None, metavar="S",
                   help="stop a size whose journey + model build exceeds S seconds")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="kill any worker process that runs longer than S seconds")
    p.add_argument("--worker", choices=("stages", "e2e"), help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        worker(args)
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    meta = _meta(args)
    rows: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for size in sizes:
        stages = spawn("stages", size, args)
        e2e: dict[str, Any] = {}
        if not args.no_e2e and "error" not in stages:
            e2e = spawn("e2e", size, args)
        rows.append((stages, e2e))
    text = table(rows)
    print(f"cxplan benchmark: shape={args.shape} seed={args.seed} "
          f"time limit={args.time_limit:g} s, 1 BLAS thread, "
          f"cpus={meta['cpus']}, load at start={meta['loadavg_at_start'][0]:.2f}")
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"meta": meta, "results": [{"stages": s, "e2e": e} for s, e in rows]}, indent=2))
    return 1 if any("error" in s or "error" in e for s, e in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
