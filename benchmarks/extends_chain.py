"""Reading a chain of variants (`extends:`): its cost against the base's alone.

    .venv/bin/python benchmarks/extends_chain.py                   # 2000 improvements, 31 variants
    .venv/bin/python benchmarks/extends_chain.py --sizes 500,2000 --variants 1,31 --shape dense

Each row is measured in a fresh subprocess: `load_scenario` of the base alone, then of the
last variant of a chain of small variants over it (each changes the budget, one team,
one touchpoint and one improvement, and removes one improvement). The base is a generated
scenario (`benchmarks/generate.py`) written as YAML. A chain should cost what its variants
hold, so the ratio stays near 1 whatever the chain's length.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import realistic_scenario  # noqa: E402


def write_chain(folder: Path, size: int, variants: int, shape: str, seed: int) -> Path:
    """base.yaml and v1..vN.yaml in `folder`; returns the last variant (or the base)."""
    data = realistic_scenario(size, seed=seed, shape=shape)
    (folder / "base.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    touchpoints = [t["id"] for t in data["touchpoints"]]
    improvements = [i["id"] for i in data["improvements"]]
    team = next(iter(data.get("teams") or {"ops": 1}))
    previous = "base.yaml"
    for n in range(1, variants + 1):
        variant = {
            "extends": previous,
            "name": f"variant {n}",
            "budget": (data.get("budget") or 1000) * (1 + n / 100),
            "teams": {team: n + 1},
            "touchpoints": [{"id": touchpoints[n % len(touchpoints)],
                             "failure_probability": 0.1 + n / 1000}],
            "improvements": [{"id": improvements[n % len(improvements)], "cost": 100 + n},
                             {"id": improvements[-n], "remove": True}],
        }
        previous = f"v{n}.yaml"
        (folder / previous).write_text(yaml.safe_dump(variant, sort_keys=False),
                                       encoding="utf-8")
    return folder / previous


def _load(path: str) -> dict[str, Any]:
    """In this (fresh) process: the time and peak memory of loading `path`."""
    from cxplan import load_scenario

    began = time.perf_counter()
    cpu = time.process_time()
    scenario = load_scenario(path)
    return {"seconds": time.perf_counter() - began, "cpu": time.process_time() - cpu,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "improvements": len(scenario.improvements)}


def measure(path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--worker", str(path)], check=True,
                          capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000", help="improvements in the base, e.g. 500,2000")
    parser.add_argument("--variants", default="31", help="chain lengths, e.g. 1,31")
    parser.add_argument("--shape", default="realistic", choices=["realistic", "dense"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_load(args.worker)))
        return
    header = (f"{'improvements':>12} {'base MB':>8} {'variants':>8} {'base s':>7} "
              f"{'chain s':>8} {'ratio':>6} {'base MiB':>9} {'chain MiB':>10}")
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        for variants in (int(v) for v in args.variants.split(",")):
            with tempfile.TemporaryDirectory(prefix="cxplan-chain-") as tmp:
                last = write_chain(Path(tmp), size, variants, args.shape, args.seed)
                base = measure(Path(tmp) / "base.yaml")
                chain = measure(last)
                megabytes = (Path(tmp) / "base.yaml").stat().st_size / 1e6
            print(f"{size:>12} {megabytes:>8.1f} {variants:>8} {base['seconds']:>7.2f} "
                  f"{chain['seconds']:>8.2f} {chain['seconds'] / base['seconds']:>6.2f} "
                  f"{base['peak_mib']:>9.0f} {chain['peak_mib']:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
