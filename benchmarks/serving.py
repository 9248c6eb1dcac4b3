"""Starting a real `cxplan serve` as a user would, for the tests and the latency benchmark:
the console script in its own process, on a free loopback port, waited for until it
answers, and stopped after."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CXPLAN = Path(sys.executable).parent / "cxplan"
TIMINGS = ("build_seconds", "solve_seconds", "timings")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    announced: str  # the line it printed when it started

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(scenario: Path, *args: str, host: str = "127.0.0.1") -> Iterator[Server]:
    """`cxplan serve SCENARIO ARGS` on a free port of `host`, until the block ends."""
    port = free_port(host)
    process = subprocess.Popen([str(CXPLAN), "serve", str(scenario), "--host", host,
                                "--port", str(port), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        announced = process.stdout.readline()
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((host, port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cxplan serve did not start: {announced}"
                                       f"{process.stderr.read() if process.stderr else ''}"
                                       ) from None
                time.sleep(0.1)
        yield Server(url, process, announced)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def without_timings(plan: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if k not in TIMINGS}


def token_of(announced: str) -> str:
    found = re.search(r"\?token=(\S+)", announced)
    assert found, announced
    return found.group(1)
