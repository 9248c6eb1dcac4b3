"""`cxplan robust` throughput: draws per second per core, locally and on a Dask cluster.

    .venv/bin/python benchmarks/robust.py [--sizes 22,100,1000] [--samples 40,8,4]
        [--workers 2] [--dask] [--time-limit 600] [--json out.json]

Size 22 is the bundled `scenarios/microfinance-uncertain.yaml`; other sizes are
`benchmarks/generate.realistic_scenario` with every failure probability, every failure
reduction and every cost made uncertain (pert around the generated value; lognormal
costs). Each run is `cxplan.robust(...)` with that many samples:

- local: a process pool of `--workers` processes (one HiGHS thread each);
- dask (`--dask`): a `dask scheduler` and `--workers` single-threaded `dask worker`
  processes on loopback, started here as Dask documents.

Columns: improvements, mode, workers, samples, seconds in the per-draw phase (every
draw's exact optimum), draws per second per core in that phase, the end-to-end seconds
of the whole command (nominal plan, draws, valuation, robust plan, out of sample), its
CPU seconds (this process and the local pool's; not measured on Dask) and draws per CPU
second (what a quiet core would do: on a shared machine the wall clock says little), the
robust plan's method, draws not proven optimal, and this process's peak memory (MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def uncertain(data: dict[str, Any]) -> dict[str, Any]:
    """A generated scenario with its estimates made distributions."""
    for tp in data["touchpoints"]:
        p = tp["failure_probability"]
        if 0 < p < 1:
            tp["failure_probability"] = {"pert": [p * 0.7, p, min(1.0, p * 1.4)]}
    for imp in data["improvements"]:
        if imp["cost"] > 0:
            imp["cost"] = {"lognormal": [imp["cost"], imp["cost"] * 1.3]}
        for effect in imp["effects"]:
            r = effect.get("failure_reduction", 0)
            if 0 < r < 1:
                effect["failure_reduction"] = {"pert": [r * 0.6, r, min(1.0, r * 1.2)]}
    return data


def scenario(size: int, seed: int) -> Any:
    from cxplan import load_scenario

    if size == 22:
        return load_scenario(ROOT / "scenarios" / "microfinance-uncertain.yaml")
    from benchmarks.generate import realistic_scenario

    return load_scenario(uncertain(realistic_scenario(size, seed=seed)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dask_cluster(workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = Path(sys.executable).parent / "dask"
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port",
                                   port, "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    time.sleep(1.0)
    processes += [subprocess.Popen([str(dask), "worker", address, "--nthreads", "1",
                                    "--no-dashboard"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL) for _ in range(workers)]
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes


def run(size: int, samples: int, workers: int, mode: str, seed: int,
        time_limit: float, address: str | None) -> dict[str, Any]:
    import cxplan

    loaded = scenario(size, seed)
    cpu_before = _cpu()
    began = time.perf_counter()
    if mode == "dask":
        from distributed import Client

        with Client(address, timeout="60s") as client:
            result = cxplan.robust(loaded, samples=samples, seed=seed,
                                   executor=client.get_executor(), workers=workers,
                                   time_limit=time_limit)
    else:
        result = cxplan.robust(loaded, samples=samples, seed=seed, workers=workers,
                               time_limit=time_limit)
    total = time.perf_counter() - began
    cpu = _cpu() - cpu_before
    data = result.to_dict()
    draws = data["seconds"]["draws"]
    return {"size": size, "mode": mode, "workers": workers, "samples": samples,
            "draws_seconds": draws, "per_core": samples / draws / workers,
            "total_seconds": total, "cpu_seconds": cpu if mode == "local" else None,
            "method": data["robust"]["method"],
            "not_proven": data["draws_not_proven"], "seconds": data["seconds"],
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _num(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0])
    return f"{value:{spec}}" if value is not None else "–".rjust(width)


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the local pool's workers,
    reaped when the pool shuts down): on a shared machine, what the run would take of
    the cores alone."""
    own, children = (resource.getrusage(resource.RUSAGE_SELF),
                     resource.getrusage(resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="22,100,1000")
    parser.add_argument("--samples", default="40,8,4",
                        help="draws per size (one number for all, or one per size)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dask", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(s) for s in args.samples.split(",")]
    counts = counts * len(sizes) if len(counts) == 1 else counts
    modes = ["local", *(["dask"] if args.dask else [])]
    rows = []
    address, processes = (dask_cluster(args.workers) if args.dask else (None, []))
    try:
        for size, samples in zip(sizes, counts, strict=True):
            for mode in modes:
                row = run(size, samples, args.workers, mode, args.seed, args.time_limit,
                          address)
                print(f"{size} {mode}: {row['per_core']:.3f} draws/s/core", file=sys.stderr)
                rows.append(row)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=30)
    print(f"{'size':>6} {'mode':>6} {'workers':>7} {'samples':>7} {'draws s':>8} "
          f"{'draws/s/core':>12} {'total s':>8} {'cpu s':>7} {'draws/cpu-s':>11} "
          f"{'robust':>14} {'unproven':>8} {'MiB':>6}")
    for r in rows:
        print(f"{r['size']:>6} {r['mode']:>6} {r['workers']:>7} {r['samples']:>7} "
              f"{r['draws_seconds']:>8.1f} {r['per_core']:>12.3f} {r['total_seconds']:>8.1f} "
              f"{_num(r['cpu_seconds'], '7.1f')} "
              f"{_num(r['cpu_seconds'] and r['samples'] / r['cpu_seconds'], '11.3f')} "
              f"{r['method']:>14} {r['not_proven']:>8} {r['peak_mib']:>6.0f}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (shared machine)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
