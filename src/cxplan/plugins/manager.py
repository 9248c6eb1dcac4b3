"""The plugin manager: built-ins, installed plugins and local plugin files, loaded the same way.

Built-in criteria are registered as plugins exactly like third-party ones
(entry-point group `cxplan`). Every failure of a plugin — it does not import, a
hook raises, a hook returns the wrong type, two criteria or two scenario
sections share a name — is a `PluginError` naming the plugin and the hook.

The process-wide manager (`get_plugin_manager`) loads every installed plugin;
`configure` adds local plugins (`--plugin`) and disables others
(`--disable-plugin`) before it is first used.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from cxplan.core.criterion import Criterion
from cxplan.errors import PluginError, ScenarioError, UsageError
from cxplan.plugins import hookspecs
from cxplan.plugins.hookspecs import ReportSection
from cxplan.text import did_you_mean
from cxplan.version import __version__

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from cxplan.core.results import Plan
    from cxplan.scenario.models import Scenario

BUILTIN_PLUGINS = (
    "cxplan.criteria.experience",
    "cxplan.criteria.moments",
    "cxplan.criteria.net_value",
    "cxplan.criteria.quick_wins",
    "cxplan.criteria.risk",
)
ENTRY_POINT_GROUP = "cxplan"
HOOK_PREFIX = "cxplan_"


@dataclass(frozen=True)
class PluginInfo:
    """What `cxplan plugins` shows about one plugin."""

    name: str
    source: str  # "built-in", "entry point <value>", or "--plugin <spec>"
    version: str | None
    hooks: tuple[str, ...]
    criteria: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    error: str | None = None  # why it could not be loaded (only with strict=False)


class CxplanPlugins:
    """A pluggy manager plus typed, checked access to what plugins contribute.

    `extra` are local plugins: dotted module names or paths to `.py` files. `disabled`
    names plugins not to load (entry-point names, built-in module names or local plugin
    names); naming one that does not exist is a `UsageError`. With `strict=False`, a
    plugin that fails to load is recorded in `failures` (for `cxplan plugins`) instead
    of raising.
    """

    def __init__(
        self,
        *,
        load_entry_points: bool = True,
        disabled: Iterable[str] = (),
        extra: Iterable[str] = (),
        strict: bool = True,
    ) -> None:
        self.pm = pluggy.PluginManager("cxplan")
        self.pm.add_hookspecs(hookspecs)
        self._disabled = set(disabled)
        self._strict = strict
        self._seen: set[str] = set()  # every plugin name met, disabled or not
        self._meta: dict[str, tuple[str, str | None]] = {}  # name -> (source, version)
        self.failures: list[PluginError] = []
        self._criteria: dict[str, Criterion] | None = None
        self._criterion_owner: dict[str, str] = {}
        self._sections: dict[str, type[BaseModel]] | None = None
        self._section_owner: dict[str, str] = {}
        for module in BUILTIN_PLUGINS:
            self._guard(partial(self.register_module, module, source="built-in",
                                version=__version__))
        if load_entry_points:
            self._load_entry_points()
        for spec in extra:
            self._guard(partial(self.register_spec, spec))
        unknown = sorted(self._disabled - self._seen)
        if unknown:
            raise UsageError(f"--disable-plugin: no plugin named {', '.join(map(repr, unknown))}"
                             f" (plugins: {', '.join(sorted(self._seen))})")

    # -- loading -----------------------------------------------------------------------------
    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except PluginError as exc:
            if self._strict:
                raise
            self.failures.append(exc)

    def _load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            self._seen.add(ep.name)
            if ep.name in self._disabled or self.pm.get_plugin(ep.name) is not None:
                continue
            version = ep.dist.version if ep.dist is not None else None
            self._meta[ep.name] = (f"entry point {ep.value}", version)

            self._guard(partial(self._load_entry_point, ep))

    def _load_entry_point(self, ep: EntryPoint) -> None:
        with plugin_code(ep.name, "import", failure=lambda exc: f"failed to load "
                         f"{ep.value!r}: {type(exc).__name__}: {exc}"):
            plugin = ep.load()
        self._register(plugin, ep.name)

    def register_module(
        self, dotted: str, name: str | None = None, *, source: str | None = None,
        version: str | None = None,
    ) -> None:
        """Import `dotted` and register it as a plugin (used for built-ins and --plugin)."""
        name = name or dotted
        self._seen.add(name)
        if name in self._disabled:
            return
        self._meta[name] = (source or f"module {dotted}", version)
        with plugin_code(name, "import", failure=_named):
            module = importlib.import_module(dotted)
        self._meta[name] = (source or f"module {dotted}",
                            version or getattr(module, "__version__", None))
        self._register(module, name)

    def register_spec(self, spec: str) -> None:
        """Register a local plugin: a path to a `.py` file, or an importable module name.

        A module name is looked up in the current directory first, as `python -m` would.
        The plugin's name is the file's or module's name.
        """
        path = Path(spec)
        if spec.endswith(".py") or os.sep in spec or path.is_file():
            # a package's __init__.py is named after its folder
            name = path.parent.name if path.stem == "__init__" else path.stem
            self._seen.add(name)
            if name in self._disabled:
                return
            self._meta[name] = (f"--plugin {spec}", None)
            if not path.is_file():
                raise PluginError(name, "import", f"no such plugin file: {spec}")
            with plugin_code(name, "import", failure=_named):
                module_spec = importlib.util.spec_from_file_location(f"cxplan_local_{name}", path)
                if module_spec is None or module_spec.loader is None:
                    raise ImportError(f"cannot import {spec}")
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[module_spec.name] = module
                module_spec.loader.exec_module(module)
            self._meta[name] = (f"--plugin {spec}", getattr(module, "__version__", None))
            self._register(module, name)
            return
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:
            sys.path.insert(0, cwd)
        try:
            self.register_module(spec, source=f"--plugin {spec}")
        finally:
            if added:
                sys.path.remove(cwd)

    def register(self, plugin: object, name: str) -> None:
        """Register an already imported plugin object or module."""
        self._seen.add(name)
        self._meta.setdefault(name, ("registered in Python", getattr(plugin, "__version__",
                                                                     None)))
        self._register(plugin, name)

    def _register(self, plugin: object, name: str) -> None:
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(name, "register", str(exc)) from exc
        self._criteria = None
        self._sections = None
        known = set(self._spec_names())
        for attr in dir(plugin):
            if not attr.startswith(HOOK_PREFIX) or not callable(getattr(plugin, attr, None)):
                continue
            if attr not in known:
                self.pm.unregister(name=name)
                raise PluginError(name, attr, f"there is no hook named {attr}"
                                  f"{did_you_mean(attr, known)}; hooks: {', '.join(known)}")
            if self._hook_names(name).count(attr) == 0:
                self.pm.unregister(name=name)
                raise PluginError(name, attr, "the function is not marked with "
                                  "@cxplan.hookimpl, so cxplan would silently ignore it")

    # -- describing --------------------------------------------------------------------------
    def _spec_names(self) -> list[str]:
        return sorted(n for n in dir(hookspecs) if n.startswith(HOOK_PREFIX))

    def _hook_names(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        return sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def info(self) -> list[PluginInfo]:
        """Every plugin with its source, version and hooks; failed ones with their error."""
        criteria = self.criteria() if self._strict else self._safe(self.criteria, {})
        sections = (self.scenario_sections() if self._strict
                    else self._safe(self.scenario_sections, {}))
        result = []
        for name in self.plugin_names():
            source, version = self._meta.get(name, ("registered in Python", None))
            result.append(PluginInfo(
                name, source, version, tuple(self._hook_names(name)),
                tuple(sorted(c for c in criteria if self._criterion_owner.get(c) == name)),
                tuple(sorted(s for s in sections if self._section_owner.get(s) == name))))
        for failure in self.failures:
            source, version = self._meta.get(failure.plugin, ("unknown", None))
            result.append(PluginInfo(failure.plugin, source, version, (), error=str(failure)))
        return result

    def _safe(self, getter: Callable[[], Any], default: Any) -> Any:
        try:
            return getter()
        except PluginError as exc:
            self.failures.append(exc)
            return default

    # -- calling -----------------------------------------------------------------------------
    def _call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook implementation by implementation, in registration order, so that
        failures name their plugin and results can be attributed."""
        results: list[tuple[str, Any]] = []
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():
            with plugin_code(impl.plugin_name, hook_name):
                value = impl.function(**{k: kwargs[k] for k in impl.argnames})
            if value is not None:
                results.append((impl.plugin_name, value))
        return results

    def criteria(self) -> dict[str, Criterion]:
        """Every registered criterion by name."""
        if self._criteria is not None:
            return self._criteria
        found: dict[str, Criterion] = {}
        owner: dict[str, str] = {}
        for plugin, value in self._call("cxplan_criteria"):
            for criterion in _sequence(value, plugin, "cxplan_criteria", "a list of Criterion"):
                if not isinstance(criterion, Criterion) or not criterion.name:
                    raise PluginError(plugin, "cxplan_criteria",
                                      f"returned {criterion!r}, which is not a named Criterion")
                _claim(owner, criterion.name, plugin, "cxplan_criteria",
                       f"criterion {criterion.name!r} is also registered by")
                found[criterion.name] = _Guarded(criterion, plugin)
        self._criteria, self._criterion_owner = found, owner
        return found

    def criteria_names(self) -> list[str]:
        return sorted(self.criteria())

    def criterion_owner(self, name: str) -> str | None:
        self.criteria()
        return self._criterion_owner.get(name)

    def has_constraints(self) -> bool:
        """Whether any plugin implements `cxplan_constraints`."""
        return bool(self.pm.hook.cxplan_constraints.get_hookimpls())

    def constraints_for(self, ctx: object) -> list[tuple[str, object]]:
        """('plugin:name', constraint) for every constraint the plugins add to a model."""
        import pulp

        result: list[tuple[str, object]] = []
        for plugin, value in self._call("cxplan_constraints", ctx=ctx):
            for item in _sequence(value, plugin, "cxplan_constraints",
                                  "a list of (name, constraint)"):
                if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                        or not isinstance(item[1], pulp.LpConstraint)):
                    raise PluginError(plugin, "cxplan_constraints",
                                      f"returned {item!r}, not a (name, pulp.LpConstraint) pair")
                result.append((f"{plugin}:{item[0]}", item[1]))
        return result

    def scenario_sections(self) -> dict[str, type[BaseModel]]:
        """Every declared scenario section (under `extensions:`) and its pydantic model."""
        if self._sections is not None:
            return self._sections
        from pydantic import BaseModel

        found: dict[str, type[BaseModel]] = {}
        owner: dict[str, str] = {}
        for plugin, value in self._call("cxplan_scenario_sections"):
            if not isinstance(value, dict):
                raise PluginError(plugin, "cxplan_scenario_sections",
                                  f"must return a dict of name -> pydantic model, got "
                                  f"{type(value).__name__}")
            for key, model in value.items():
                if not isinstance(key, str) or not key:
                    raise PluginError(plugin, "cxplan_scenario_sections",
                                      f"section names must be non-empty text, got {key!r}")
                if not (isinstance(model, type) and issubclass(model, BaseModel)):
                    raise PluginError(plugin, "cxplan_scenario_sections",
                                      f"section {key!r}: {model!r} is not a pydantic model class")
                _claim(owner, key, plugin, "cxplan_scenario_sections",
                       f"section {key!r} is also declared by")
                found[key] = model
        self._sections, self._section_owner = found, owner
        return found

    def transform(self, scenario: Scenario, revalidate: Callable[[Scenario], Scenario]) -> Scenario:
        """Apply every `cxplan_transform_scenario` in turn; each result is validated again."""
        hook = self.pm.hook.cxplan_transform_scenario
        for impl in hook.get_hookimpls():
            plugin = impl.plugin_name
            with plugin_code(plugin, "cxplan_transform_scenario"):
                value = impl.function(scenario=scenario)
            if value is None:
                continue
            if not isinstance(value, type(scenario)):
                raise PluginError(plugin, "cxplan_transform_scenario",
                                  f"must return a Scenario or None, got {type(value).__name__}")
            try:
                scenario = revalidate(value)
            except ScenarioError as exc:
                raise PluginError(plugin, "cxplan_transform_scenario",
                                  "returned an invalid scenario:\n"
                                  + "\n".join(p.format() for p in exc.problems)) from exc
        return scenario

    def template_dirs(self) -> list[Path]:
        """Report template folders of the plugins, in registration order."""
        dirs: list[Path] = []
        for plugin, value in self._call("cxplan_template_dirs"):
            for item in _sequence(value, plugin, "cxplan_template_dirs", "a list of folders"):
                if not isinstance(item, str | os.PathLike) or not Path(item).is_dir():
                    raise PluginError(plugin, "cxplan_template_dirs",
                                      f"{item!r} is not an existing folder")
                dirs.append(Path(item))
        return dirs

    def report_sections(self, plan: Plan, scenario: Scenario) -> list[ReportSection]:
        """The plugins' extra report sections for a plan, in registration order."""
        sections: list[ReportSection] = []
        ids: dict[str, str] = {}
        for plugin, value in self._call("cxplan_report_sections", plan=plan, scenario=scenario):
            for item in _sequence(value, plugin, "cxplan_report_sections",
                                  "a list of ReportSection"):
                if not isinstance(item, ReportSection):
                    raise PluginError(plugin, "cxplan_report_sections",
                                      f"returned {item!r}, not a cxplan.extensions.ReportSection")
                _claim(ids, item.id, plugin, "cxplan_report_sections",
                       f"section id {item.id!r} is also used by")
                sections.append(item)
        return sections

    def add_cli_commands(self, app: typer.Typer) -> None:
        """Let plugins register subcommands; a name clash with another command is an error."""
        hook = self.pm.hook.cxplan_cli
        # Once per plugin and app: the command line may be started twice in one process.
        done: set[str] = app.__dict__.setdefault("_cxplan_plugins_added", set())
        for impl in hook.get_hookimpls():
            if impl.plugin_name in done:
                continue
            done.add(impl.plugin_name)
            count = len(app.registered_commands)
            with plugin_code(impl.plugin_name, "cxplan_cli"):
                impl.function(app=app)
            existing = {_command_name(c) for c in app.registered_commands[:count]}
            existing |= {str(g.name) for g in app.registered_groups if g.name}
            for command in app.registered_commands[count:]:
                if _command_name(command) in existing:
                    del app.registered_commands[count:]
                    raise PluginError(impl.plugin_name, "cxplan_cli",
                                      f"command {_command_name(command)!r} already exists")
                existing.add(_command_name(command))

    def plan_finished(self, plan: Plan, scenario: Scenario) -> None:
        self._call("cxplan_plan_finished", plan=plan, scenario=scenario)


class _Guarded(Criterion):
    """A plugin's criterion whose failures name the plugin: an exception or a value of the
    wrong type from `model_term`, `evaluate` or `magnitude` becomes a `PluginError`."""

    def __init__(self, inner: Criterion, plugin: str) -> None:
        self.inner = inner
        self.plugin = plugin
        self.name = inner.name
        self.description = inner.description
        self.unit = inner.unit

    def _fail(self, method: str, message: str) -> PluginError:
        return PluginError(self.plugin, f"criterion {self.name!r}, {method}", message)

    def model_term(self, ctx: Any) -> Any:
        import pulp

        with plugin_code(self.plugin, f"criterion {self.name!r}, model_term",
                         interruptible=False):
            term = self.inner.model_term(ctx)
        if isinstance(term, int | float) and not isinstance(term, bool):
            return pulp.LpAffineExpression(constant=float(term))
        if isinstance(term, pulp.LpVariable):
            return pulp.LpAffineExpression([(term, 1.0)])
        if not isinstance(term, pulp.LpAffineExpression):
            raise self._fail("model_term", f"must return a linear expression "
                             f"(pulp.LpAffineExpression), got {type(term).__name__}")
        return term

    def evaluate(self, ctx: Any) -> float:
        return self._number("evaluate", self.inner.evaluate, ctx)

    def magnitude(self, ctx: Any) -> float:
        return abs(self._number("magnitude", self.inner.magnitude, ctx))

    def _number(self, method: str, function: Callable[[Any], Any], ctx: Any) -> float:
        with plugin_code(self.plugin, f"criterion {self.name!r}, {method}",
                         interruptible=False):
            value = function(ctx)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number):
            raise self._fail(method, f"must return a finite number, got {value!r}")
        return number


def _raised(exc: Exception) -> str:
    return f"raised {type(exc).__name__}: {exc}"


def _named(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def plugin_code(plugin: str, hook: str, *, interruptible: bool = True,
                failure: Callable[[Exception], str] = _raised) -> Iterator[None]:
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


def _claim(owners: dict[str, str], name: str, plugin: str, hook: str, clash: str) -> None:
    """Record that `plugin` provides `name`; a name another plugin provides already is a
    PluginError naming both (`clash` says what is provided twice)."""
    if name in owners:
        raise PluginError(plugin, hook, f"{clash} plugin {owners[name]!r}")
    owners[name] = plugin


def _sequence(value: Any, plugin: str, hook: str, expected: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise PluginError(plugin, hook, f"must return {expected}, got {type(value).__name__}")
    return value


def _command_name(command: Any) -> str:
    """The name Typer gives a registered command (explicit, or from the function name)."""
    if command.name:
        return str(command.name)
    return str(command.callback.__name__).replace("_", "-").lower()


_settings: dict[str, tuple[str, ...]] = {"extra": (), "disabled": ()}


def configure(extra: Iterable[str] = (), disabled: Iterable[str] = ()) -> None:
    """Set the local plugins (`--plugin`) and disabled plugins (`--disable-plugin`) of the
    process-wide manager; it is rebuilt on next use."""
    _settings["extra"] = tuple(extra)
    _settings["disabled"] = tuple(disabled)
    get_plugin_manager.cache_clear()


def inspecting_manager() -> CxplanPlugins:
    """A new manager with the configured plugins that records a failing plugin in
    `failures` instead of raising (for `cxplan plugins`, which must list broken ones)."""
    return CxplanPlugins(extra=_settings["extra"], disabled=_settings["disabled"],
                         strict=False)


@lru_cache(maxsize=1)
def get_plugin_manager() -> CxplanPlugins:
    """The process-wide plugin manager with built-ins, installed and configured plugins."""
    return CxplanPlugins(extra=_settings["extra"], disabled=_settings["disabled"])
