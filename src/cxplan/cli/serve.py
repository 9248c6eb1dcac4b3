"""`cxplan serve`: the live what-if page for a meeting (needs `pip install cxplan[serve]`)."""

from __future__ import annotations

from typing import Annotated

import typer

from cxplan.cli.common import ScenarioArg, allowed_paths, app, run


@app.command("serve")
def serve(
    scenario: ScenarioArg,
    host: Annotated[str, typer.Option(
        help="Address to listen on; anything but the loopback address needs a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[str | None, typer.Option(
        help="Every request must carry this token (generated and printed when binding "
        "beyond this machine without one).")] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds per solve; past it the best plan found is shown.")
    ] = 60.0,
) -> None:
    """Serve a live what-if page: sliders, switches, the plan updating on every change."""

    def body() -> None:
        from cxplan.errors import UsageError

        try:
            import starlette  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError:
            raise UsageError("cxplan serve needs its web server: pip install "
                             "'cxplan[serve]'") from None
        if not 1 <= port <= 65535:
            raise UsageError(f"--port must be from 1 to 65535, got {port}")
        if token is not None and (len(token) < 8 or not token.isprintable()):
            raise UsageError("--token must be at least 8 printable characters")
        from cxplan.optimizer.options import SolverOptions
        from cxplan.serve import run_server

        run_server(scenario, host=host, port=port, token=token,
                   options=SolverOptions(time_limit=time_limit),
                   allow_paths=allowed_paths())

    run(body)
