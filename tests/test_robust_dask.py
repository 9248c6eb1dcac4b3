"""`cxplan robust --scheduler`: the draws on a real Dask cluster — a `dask scheduler` and
two `dask worker` processes started as Dask documents, on loopback — give exactly the
result of the local run with the same seed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import CliRun, ScenarioFactory, ScenarioWriter

pytest.importorskip("distributed", reason="Dask is the optional extra cxplan[dask] "
                    "(make installs it)")
DASK = Path(sys.executable).parent / "dask"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a scheduler with two single-threaded workers."""
    if not DASK.exists():
        pytest.skip(f"the `dask` command is not next to {sys.executable}")
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    logs = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    commands = [[str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                 address.rsplit(":", 1)[1], "--no-dashboard"]]
    commands += [[str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard",
                  "--name", f"w{k}"] for k in range(2)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for k, command in enumerate(commands):
            log = (logs / f"{k}.log").open("wb")
            processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                              env=env, start_new_session=True))
            if k == 0:
                time.sleep(1.0)
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_dask_cluster_gives_the_local_result(
        cluster: str, uncertain_choice: dict[str, Any], write_scenario: ScenarioWriter,
        run_main: Any) -> None:
    data = uncertain_choice
    data["improvements"][1]["cost"] = {"uniform": [250, 350]}
    data["improvements"][0]["effects"][0]["failure_reduction"] = {"beta": [5, 5]}
    path = write_scenario(data)
    common = ("robust", path, "--samples", "20", "--seed", "7", "--json", "--objective",
              "cvar:0.2")
    local: CliRun = run_main(*common, "--workers", "1")
    remote: CliRun = run_main(*common, "--scheduler", cluster)
    assert local.exit_code == 0, local.stderr
    assert remote.exit_code == 0, remote.stderr
    here, there = json.loads(local.stdout), json.loads(remote.stdout)
    assert there["workers"] == 2
    for result in (here, there):
        del result["seconds"], result["workers"]
    assert here == there
    assert 0 < here["frequency"]["queue-app"] < 1  # the draws do differ


def test_a_scheduler_that_does_not_answer_is_a_usage_error(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
        run_main: Any) -> None:
    run: CliRun = run_main("robust", write_scenario(minimal_scenario()), "--samples", "4",
                           "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                           "--time-limit", "3")
    assert run.exit_code == 2
    assert "no Dask scheduler answered" in run.stderr
