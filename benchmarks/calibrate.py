"""Calibrating from big event logs: time and peak memory of `cxplan calibrate log`.

    .venv/bin/python benchmarks/calibrate.py                       # 100k and 1M events, CSV + XES
    .venv/bin/python benchmarks/calibrate.py --events 1000000 --formats csv

Each row is one fresh subprocess reading a generated log (a random walk over 30 activities,
about 8 events per case, timestamps with time zones, rows in random order so that the
ordering by case and time does real work) and writing the fragment: the same work as
`cxplan calibrate log FILE -o OUT`, measured from inside the process (wall and CPU time,
peak resident memory). The goal of issue 19: 1 000 000 events in at most 30 s and 2 GiB.
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ACTIVITIES = 30


def make_log(events: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Columns of a random log with about `events` events (in random row order)."""
    rng = np.random.default_rng(seed)
    cases = max(1, events // 8)
    lengths = rng.geometric(1 / 8, size=cases)
    lengths = np.maximum(1, np.round(lengths * events / lengths.sum())).astype(np.int64)
    case = np.repeat(np.arange(cases), lengths)[:events]
    n = len(case)
    # a random walk: mostly forward through the activities, sometimes back
    step = rng.choice([1, 1, 1, 2, -1, 0], size=n)
    first = np.ones(n, dtype=bool)
    first[1:] = case[1:] != case[:-1]
    walk = np.cumsum(np.where(first, 0, step))
    start_of_case = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    activity = (walk - walk[start_of_case] + rng.integers(0, 5, size=cases)[case]) % ACTIVITIES
    minutes = np.cumsum(rng.integers(0, 240, size=n)) + case * 17
    stamps = np.datetime64("2024-01-01T00:00:00") + minutes.astype("timedelta64[m]")
    order = rng.permutation(n)
    return {"case": case[order], "activity": activity[order], "time": stamps[order]}


def write_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text = np.datetime_as_string(columns["time"], unit="s", timezone="UTC")
    table = pa.table({
        "case:concept:name": pa.array(np.char.add("case-", columns["case"].astype(str))),
        "concept:name": pa.array(np.char.add("Activity ", columns["activity"].astype(str))),
        "time:timestamp": pa.array(np.char.replace(text, "Z", "+00:00")),
    })
    pacsv.write_csv(table, path)


def write_xes(columns: dict[str, np.ndarray], path: Path) -> None:
    order = np.lexsort((columns["time"], columns["case"]))
    case, activity = columns["case"][order], columns["activity"][order]
    stamps = np.datetime_as_string(columns["time"][order], unit="s", timezone="UTC")
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n')
        previous = -1
        for c, a, t in zip(case.tolist(), activity.tolist(), stamps.tolist(), strict=True):
            if c != previous:
                if previous >= 0:
                    out.write("</trace>\n")
                out.write(f'<trace><string key="concept:name" value="case-{c}"/>\n')
                previous = c
            out.write(f'<event><string key="concept:name" value="Activity {a}"/>'
                      f'<date key="time:timestamp" value="{t}"/></event>\n')
        out.write("</trace>\n</log>\n")


def worker(path: str, output: str) -> dict[str, Any]:
    """In this (fresh) process: calibrate `path` into `output`, timed."""
    wall, cpu = time.perf_counter(), time.process_time()
    from cxplan.calibrate import calibrate_log
    from cxplan.files import write_atomic

    result = calibrate_log(path)
    write_atomic({output: result.yaml()})
    counts = result.counts()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cases": counts.cases, "events": counts.events,
            "touchpoints": len(counts.occurrences)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="100000,1000000")
    parser.add_argument("--formats", default="csv,xes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    print(f"{'events':>9} {'format':>6} {'cases':>8} {'file MB':>8} {'wall s':>7} "
          f"{'cpu s':>7} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for events in map(int, args.events.split(",")):
            columns = make_log(events, args.seed)
            for fmt in args.formats.split(","):
                path = Path(folder) / f"log-{events}.{fmt}"
                (write_csv if fmt == "csv" else write_xes)(columns, path)
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", str(path),
                     str(Path(folder) / "out.yaml")],
                    capture_output=True, text=True, check=True, cwd=ROOT)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{row['events']:>9} {fmt:>6} {row['cases']:>8} "
                      f"{path.stat().st_size / 1e6:>8.1f} {row['wall']:>7.1f} "
                      f"{row['cpu']:>7.1f} {row['peak_mib']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
