"""The `cxplan` command line: one module per group of commands, sharing `common.app`."""

from __future__ import annotations

import os
import time

# The console script's --time-limit counts from here, imports included (cxplan.clock).
STARTED = time.perf_counter()

# Small solves ran 10-30x slower with multithreaded BLAS on 2 cores (measured); this must
# happen before numpy is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from cxplan.cli import (  # noqa: E402  (registers the commands)
    calibrate,
    check,
    plan,
    plugins,
    robust,
    scaffold,
    serve,
    whatif,
    workbench,
)
from cxplan.cli.common import INTERRUPTED, app, fresh_app, say_interrupted  # noqa: E402

__all__ = ["app", "calibrate", "check", "console", "main", "plan", "plugins", "robust", "scaffold",
           "serve", "whatif", "workbench"]


def console() -> None:
    """The `cxplan` console script: `main`, with the command's clock started when the
    process imported this module (so the imports count toward --time-limit)."""
    main(started=STARTED)


def main(started: float | None = None) -> None:
    """Run the command in `sys.argv`; its clock starts at `started` (a
    `time.perf_counter()` value), by default now."""
    import sys

    from cxplan.clock import mark_command_start

    mark_command_start(time.perf_counter() if started is None else started)
    # Plugins may add commands, so they are loaded before Typer looks the command up.
    application = fresh_app()
    try:
        args = plugins.prepare_plugins(application, sys.argv[1:])
    except KeyboardInterrupt:  # a Ctrl-C while plugins load, before a command runs
        say_interrupted()
        sys.exit(INTERRUPTED)
    try:
        application(args=args)
    finally:
        mark_command_start(None)
