"""Running a plugin's code so that whatever goes wrong names the plugin.

Everything cxplan calls in a plugin — importing it, a hook, a criterion's methods, a
section's validators — runs inside `plugin_code`: an exception, `sys.exit()` or the
plugin's own KeyboardInterrupt becomes a `PluginError` naming the plugin and what was
being called (exit code 4), never "internal error" or a silent end of the run.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cxplan.errors import PluginError


def raised(exc: Exception) -> str:
    """How a hook's exception is worded: "raised KeyError: 'owner'"."""
    return f"raised {type(exc).__name__}: {exc}"


def named(exc: Exception) -> str:
    """How an import's exception is worded: "ModuleNotFoundError: No module named 'x'"."""
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def plugin_code(plugin: str, hook: str, *, interruptible: bool = True,
                failure: Callable[[Exception], str] = raised) -> Iterator[None]:
    """Run a plugin's code (a hook, or `hook="import"` for loading it): whatever it raises
    becomes a PluginError naming the plugin and the hook (`failure` words the exception),
    also `sys.exit()` and a KeyboardInterrupt of its own (neither may end the run). A real
    Ctrl-C during the code stays an interruption, even when the code turned it into
    another exception (pybind11 modules do, while imported); where it cannot be told apart
    (`interruptible=False`, for code that runs very often, or outside the main thread), a
    KeyboardInterrupt is taken for a real one."""
    received: list[int] = []
    marking = (interruptible and threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if marking:
        def on_sigint(number: int, frame: Any) -> None:
            received.append(number)
            signal.default_int_handler(number, frame)

        signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    except PluginError:
        raise
    except SystemExit as exc:
        loading = " while loading" if hook == "import" else ""
        raise PluginError(plugin, hook, f"called sys.exit({exc.code!r}){loading}; a plugin "
                          "may not end the run") from None
    except KeyboardInterrupt:
        if not marking or received:
            raise
        raise PluginError(plugin, hook, "raised KeyboardInterrupt itself; a plugin may not "
                          "stop the run") from None
    except Exception as exc:
        if received:
            raise KeyboardInterrupt from exc
        raise PluginError(plugin, hook, failure(exc)) from exc
    finally:
        if marking:
            signal.signal(signal.SIGINT, signal.default_int_handler)


