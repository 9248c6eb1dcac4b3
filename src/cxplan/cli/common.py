"""Shared pieces of the command line: the app, error handling, loading, formatting.

Heavy libraries (numpy, scipy, PuLP, HiGHS, networkx) are imported inside the
commands, so that `cxplan --help` answers at once. Every deliberate error is a
`CxplanError` with an exit code (2 invalid input, 3 infeasible, 4 plugin);
anything else is a bug, reported in one line unless CXPLAN_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO, TypeVar

import typer

from cxplan.text import format_money
from cxplan.version import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from cxplan.optimizer.options import Progress
    from cxplan.scenario.models import Scenario

EXAMPLES = """
Examples:

  cxplan plan scenarios/microfinance-onboarding.yaml --report reports/

  cxplan plan scenarios/airline-trip.yaml --json --budget 500000 --team it=8

  cxplan evaluate scenarios/restaurant.yaml --select own-booking-page,waitlist-sms

  cxplan validate my-scenario.yaml
"""

app = typer.Typer(
    name="cxplan",
    help="Which customer-experience improvements to fund, provably optimally.\n" + EXAMPLES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

T = TypeVar("T")


def fresh_app() -> typer.Typer:
    """A copy of the application with the built-in commands only: plugins add theirs to
    it for one run (a second run in the same process, a test's, starts clean)."""
    clone = copy.copy(app)
    clone.registered_commands = list(app.registered_commands)
    clone.registered_groups = list(app.registered_groups)
    return clone


ScenarioArg = Annotated[Path, typer.Argument(help="Scenario file (YAML, JSON or .xlsx).",
                                             show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    from rich.console import Console

    # Piped or redirected output is read in files and logs, not an 80-column terminal.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


_machine_stdout: list[TextIO] = []  # where `emit` writes while machine output is on


def emit(text: str) -> None:
    """Write machine-readable output (JSON, CSV) on the command's real standard output."""
    out = _machine_stdout[-1] if _machine_stdout else sys.stdout
    out.write(text)
    out.flush()


@contextlib.contextmanager
def machine_output(enabled: bool = True) -> Iterator[None]:
    """While a command prints machine-readable output, everything else that would reach
    standard output (a plugin's `print`, a library's banner, even from C) goes to standard
    error instead: `emit` alone writes to standard output, so `--json` prints exactly one
    JSON object whatever plugins do."""
    if not enabled:
        yield
        return
    real = sys.stdout
    saved: int | None = None
    try:
        if real.fileno() == 1:
            real.flush()
            saved = os.dup(1)
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        saved = None
    if saved is not None:
        out: TextIO = os.fdopen(os.dup(saved), "w", encoding=real.encoding or "utf-8",
                                closefd=True)
        os.dup2(2, 1)
    else:
        out = real
    sys.stdout = sys.stderr
    _machine_stdout.append(out)
    try:
        yield
    finally:
        _machine_stdout.pop()
        sys.stdout = real
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, 1)
            os.close(saved)
            out.close()


_plugin_command: ContextVar[tuple[str, str] | None] = ContextVar("plugin_command", default=None)


def plugin_command(plugin: str, name: str, callback: Callable[..., T]) -> Callable[..., T]:
    """A plugin's command as the command line runs it: inside `run`, with anything it
    raises that is not cxplan's own error named as the plugin's (exit code 4), never
    "internal error ... a bug in cxplan"."""

    @functools.wraps(callback)
    def command(*args: object, **kwargs: object) -> T:
        token = _plugin_command.set((plugin, name))
        try:
            return run(lambda: callback(*args, **kwargs))
        finally:
            _plugin_command.reset(token)

    return command


def run(action: Callable[[], T], *, machine: bool = False) -> T:
    """Run a command body, turning cxplan's errors into messages and exit codes. With
    `machine` (`--json`, `--csv`), only `emit` writes to standard output. In a plugin's
    command, an unexpected exception is the plugin's fault (exit code 4)."""
    from cxplan.errors import CxplanError, PluginError, ScenarioError

    try:
        with machine_output(machine):
            return action()
    except ScenarioError as exc:
        err = stderr_console()
        for problem in exc.problems:
            err.print(problem.format(), markup=False)
        for warning in exc.warnings:
            err.print("warning: " + warning.format(), markup=False)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.",
                  markup=False)
        raise typer.Exit(exc.exit_code) from None
    except CxplanError as exc:
        stderr_console().print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _interrupted()
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if _caused_by_ctrl_c(exc):
            # Ctrl-C while a compiled module was being imported: pybind11 (highspy) turns
            # it into "ImportError: initialization failed", with the interrupt as cause.
            _interrupted()
        if os.environ.get("CXPLAN_DEBUG"):
            raise
        running = _plugin_command.get()
        if running is not None:
            failure = PluginError(running[0], f"command {running[1]!r}",
                                  f"raised {type(exc).__name__}: {exc}")
            stderr_console().print(f"error: {failure}\n(this is a fault of the plugin; run "
                                   "again with CXPLAN_DEBUG=1 to see where)", markup=False)
            raise typer.Exit(failure.exit_code) from None
        stderr_console().print(f"internal error: {type(exc).__name__}: {exc}\n"
                        "This is a bug in cxplan; run again with CXPLAN_DEBUG=1 for details "
                        "and please report it with the scenario.", markup=False)
        raise typer.Exit(1) from None


INTERRUPTED = 130  # the shell's exit code for a process ended by SIGINT


def say_interrupted() -> None:
    """Tell the user a Ctrl-C was obeyed (exit with `INTERRUPTED` next)."""
    # Reports being written when Ctrl-C came were finished first (cxplan.files), so
    # "nothing was written" could be false; nothing is ever half-written.
    stderr_console().print("interrupted; no file was left half-written.", markup=False)


def _interrupted() -> NoReturn:
    say_interrupted()
    raise typer.Exit(INTERRUPTED) from None


def _caused_by_ctrl_c(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


_allowed: list[str] = []  # --allow-path: folders a scenario's `extends` may also read


def allow_paths(folders: list[str]) -> None:
    """Folders besides a scenario's own that its `extends` may read (`--allow-path`)."""
    _allowed[:] = folders


def allowed_paths() -> tuple[str, ...]:
    """The folders given with `--allow-path`."""
    return tuple(_allowed)


def load(path: Path) -> Scenario:
    """The scenario at `path`, with the installed plugins and the allowed folders."""
    from cxplan.load import load_scenario

    return load_scenario(path, allow_paths=_allowed)


def check_outputs(folder: Path | None = None, files: Sequence[Path] = ()) -> None:
    """Before any solve: refuse the output folder and files that writing would refuse at
    the end (a file in the way, a read-only folder, a FIFO, a link leading out)."""
    from cxplan.files import check_output, check_output_folder

    if folder is not None:
        check_output_folder(folder)
    for path in files:
        check_output_folder(path.parent)
        check_output(path)


def parse_teams(values: list[str]) -> dict[str, str]:
    """`--team NAME=N` options -> {NAME: N as written}; the amounts (`6`, `120%`) are read
    against the scenario by `apply_limits`."""
    from cxplan.errors import UsageError

    teams: dict[str, str] = {}
    for item in values:
        name, sep, number = item.partition("=")
        if not sep or not name.strip() or not number.strip():
            raise UsageError(f"--team expects NAME=N (for example it=6 or it=120%), got "
                             f"{item!r}")
        teams[name.strip()] = number.strip()
    return teams


def money(value: float, currency: str | None, *, sign: bool = False) -> str:
    """An amount as everything cxplan shows it: `USD 22,000` (`USD +22,000` with `sign`)."""
    return format_money(value, currency, sign=sign)


def pct(value: float | None) -> str:
    if value is None:
        return "an unknown margin"
    return f"{100 * value:.4g} %"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxplan {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    plugin: Annotated[list[str] | None, typer.Option(
        "--plugin", metavar="MODULE|FILE.py",
        help="Also load this plugin: a module name or a .py file (repeatable).")] = None,
    disable_plugin: Annotated[list[str] | None, typer.Option(
        "--disable-plugin", metavar="NAME",
        help="Do not load this installed plugin (repeatable; names as `cxplan plugins` "
        "lists them).")] = None,
    allow_path: Annotated[list[str] | None, typer.Option(
        "--allow-path", metavar="FOLDER",
        help="A scenario's `extends` may also read files in this folder (repeatable); "
        "otherwise only in the scenario's own folder and below.")] = None,
) -> None:
    """cxplan: optimal customer-experience improvement plans."""
    if allow_path:
        allow_paths(allow_path)
    if plugin or disable_plugin:
        # Normally taken from the command line before parsing (cxplan.cli.plugins); this
        # path serves callers that invoke the app directly.
        from cxplan.plugins.manager import configure

        configure(plugin or [], disable_plugin or [])


@contextlib.contextmanager
def solver_progress(enabled: bool = True) -> Iterator[Callable[[Progress], None] | None]:
    """A progress callback for long solves, shown on stderr.

    In a terminal it is one live status line; otherwise (logs, CI) a plain line every few
    seconds. Nothing is shown for solves that finish within the first report interval.
    """
    if not enabled:
        yield None
        return
    err = stderr_console()

    def describe(p: Progress) -> str:
        best = f"{p.incumbent:,.0f}" if p.incumbent is not None else "none yet"
        bound = f"{p.bound:,.0f}" if p.bound is not None else "-"
        gap = pct(p.gap) if p.gap is not None else "-"
        return (f"solving: {p.seconds:.0f} s, best objective {best}, bound {bound}, "
                f"gap {gap}, {p.nodes} nodes")

    if err.is_terminal:
        status = err.status("solving…")
        started = [False]

        def live(p: Progress) -> None:
            if not started[0]:
                status.start()
                started[0] = True
            status.update(describe(p))

        try:
            yield live
        finally:
            if started[0]:
                status.stop()
    else:
        yield lambda p: err.print(describe(p), markup=False)
