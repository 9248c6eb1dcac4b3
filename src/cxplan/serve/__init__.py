"""`cxplan serve`: a local web page for the meeting with the client.

The journey map with the plan on it, the key figures, sliders for the budget and each team,
a switch per improvement (force in / force out), the plan updating on every change, saved
variants compared side by side, and downloads of the report and the workbooks. Install with
`pip install cxplan[serve]` (Starlette and uvicorn).

    >>> from cxplan.serve import run_server
    >>> run_server(Path("scenarios/restaurant.yaml"), host="127.0.0.1", port=8765)

`workbench` holds the state (each browser's questions, cancellation, saved variants),
`app` the endpoints, `guard` what every request must pass (SECURITY.md).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cxplan.optimizer.options import SolverOptions
from cxplan.serve.app import create_app
from cxplan.serve.guard import LOOPBACK
from cxplan.serve.workbench import Workbench

__all__ = ["create_app", "needs_token", "run_server"]


def needs_token(host: str) -> bool:
    """Whether binding to `host` exposes the page beyond this machine."""
    return host not in LOOPBACK


def run_server(scenario: Path, *, host: str = "127.0.0.1", port: int = 8765,
               token: str | None = None, options: SolverOptions | None = None,
               allow_paths: tuple[str, ...] = (), announce: bool = True) -> None:
    """Serve `scenario` until interrupted. Binding elsewhere than the loopback address
    needs a token: `token`, or one generated and printed."""
    import uvicorn

    bench = Workbench(scenario, options=options, allow_paths=allow_paths)
    if token is None and needs_token(host):
        token = secrets.token_urlsafe(24)
    app = create_app(bench, token=token, port=port)
    if announce:
        shown = f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
        print(f"cxplan serve: {bench.base.name} at {address}  (Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
