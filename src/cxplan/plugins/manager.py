"""The plugin manager: built-ins, installed plugins and local plugin files, loaded the same way.

Built-in criteria are registered as plugins exactly like third-party ones
(entry-point group `cxplan`). Every failure of a plugin — it does not import, it does not
support this plugin API, a hook raises, a hook returns the wrong type, two criteria or two
scenario sections share a name — is a `PluginError` naming the plugin and the hook.

The process-wide manager (`get_plugin_manager`) loads every installed plugin;
`configure` adds local plugins (`--plugin`) and disables others (`--disable-plugin`)
before it is first used; `use_plugin_manager` puts a manager of one's own in its place
(`cxplan.testing` does, for a plugin's tests). What the user should hear about loading
(a local plugin that stands in for its installed copy, a disabled name that matches
nothing) is in `notes` and `warnings`, which the command line prints.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from cxplan.core.criterion import Criterion
from cxplan.errors import PluginError, ScenarioError
from cxplan.plugins import hookspecs
from cxplan.plugins.api_version import supported_api
from cxplan.plugins.guard import named, plugin_code
from cxplan.plugins.guarded import GuardedCriterion
from cxplan.plugins.hookspecs import SECTIONS_ATTRIBUTE, ReportSection
from cxplan.plugins.local import LocalPlugin, import_local, local_plugin
from cxplan.text import did_you_mean
from cxplan.version import __version__

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from cxplan.core.results import Plan
    from cxplan.scenario.models import Scenario

__all__ = [
    "BUILTIN_PLUGINS", "ENTRY_POINT_GROUP", "CxplanPlugins", "PluginInfo", "configure",
    "get_plugin_manager", "inspecting_manager", "plugin_code", "use_plugin_manager",
]

BUILTIN_PLUGINS = (
    "cxplan.criteria.experience",
    "cxplan.criteria.moments",
    "cxplan.criteria.net_value",
    "cxplan.criteria.quick_wins",
    "cxplan.criteria.risk",
)
ENTRY_POINT_GROUP = "cxplan"
HOOK_PREFIX = "cxplan_"
# A command a plugin adds, wrapped by the command line: (plugin, command name, callback).
CommandWrapper = Callable[[str, str, Callable[..., Any]], Callable[..., Any]]


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
    commands: tuple[str, ...] = ()  # subcommands it adds
    requires_sections: tuple[str, ...] = ()  # sections its criteria or constraints need
    supports_api: str | None = None  # the plugin API versions it declares (CXPLAN_API)
    disabled: bool = False  # --disable-plugin: known, not loaded

    @property
    def constraints(self) -> bool:
        """Whether it adds constraints to the model (which, depends on the scenario)."""
        return "cxplan_constraints" in self.hooks

    @property
    def report_sections(self) -> bool:
        """Whether it adds sections to the reports (which, depends on the plan)."""
        return "cxplan_report_sections" in self.hooks


class CxplanPlugins:
    """A pluggy manager plus typed, checked access to what plugins contribute.

    `extra` are local plugins: dotted module names or paths to `.py` files; one that is the
    same module as an installed plugin replaces it for this manager (a note says so).
    `disabled` names plugins not to load (entry-point names, built-in module names or
    local plugin names); a name that matches none is a warning. With `strict=False`, a
    plugin that fails to load is recorded in `failures` (for `cxplan plugins`) instead of
    raising.
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
        self._off: dict[str, tuple[str, str | None]] = {}  # the disabled ones, likewise
        self._api: dict[str, str] = {}  # name -> the plugin API range it declares
        self.failures: list[PluginError] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self._criteria: dict[str, Criterion] | None = None
        self._criterion_owner: dict[str, str] = {}
        self._sections: dict[str, type[BaseModel]] | None = None
        self._section_owner: dict[str, str] = {}
        for module in BUILTIN_PLUGINS:
            self._guard(partial(self.register_module, module, source="built-in",
                                version=__version__))
        local = [local_plugin(spec) for spec in extra]
        replaced: dict[int, EntryPoint] = {}
        if load_entry_points:
            self._load_entry_points(local, replaced)
        for k, plugin in enumerate(local):
            self._guard(partial(self._register_local, plugin, replaced.get(k)))
        unknown = sorted(self._disabled - self._seen)
        for name in unknown:
            self.warnings.append(
                f"--disable-plugin {name}: no plugin of that name is installed, so nothing "
                f"was disabled{did_you_mean(name, self._seen)}")

    # -- loading -----------------------------------------------------------------------------
    def _guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except PluginError as exc:
            if self._strict:
                raise
            self.failures.append(exc)

    def _load_entry_points(self, local: Sequence[LocalPlugin],
                           replaced: dict[int, EntryPoint]) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            self._seen.add(ep.name)
            version = ep.dist.version if ep.dist is not None else None
            if ep.name in self._disabled:
                self._off[ep.name] = (f"entry point {ep.value}", version)
                continue
            if self.pm.get_plugin(ep.name) is not None:
                continue
            same = next((k for k, plugin in enumerate(local)
                         if plugin.module == ep.module and k not in replaced), None)
            if same is not None:
                # The installed copy of a plugin being worked on: the local one is used.
                replaced[same] = ep
                dist = f"{ep.dist.name} {version}" if ep.dist is not None else ep.value
                self.notes.append(
                    f"--plugin {local[same].spec} is the installed plugin '{ep.name}' "
                    f"({dist}); the local one is used for this run")
                continue
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
            self._off[name] = (source or f"module {dotted}", version)
            return
        self._meta[name] = (source or f"module {dotted}", version)
        with plugin_code(name, "import", failure=named):
            module = importlib.import_module(dotted)
        self._meta[name] = (source or f"module {dotted}",
                            version or getattr(module, "__version__", None))
        self._register(module, name)

    def register_spec(self, spec: str) -> None:
        """Register a local plugin: a path to a `.py` file, or an importable module name.

        A module name is looked up in the current directory first, as `python -m` would.
        The plugin's name is the file's or module's name.
        """
        self._register_local(local_plugin(spec), None)

    def _register_local(self, plugin: LocalPlugin, replaces: EntryPoint | None) -> None:
        """Register a `--plugin`; `replaces` is the installed plugin it is a copy of, whose
        name it then takes (so that `cxplan plugins` and messages say one name)."""
        name = replaces.name if replaces is not None else plugin.name
        source = f"--plugin {plugin.spec}" + (
            f" (in place of the installed {replaces.value})" if replaces is not None else "")
        self._seen.add(name)
        if name in self._disabled:
            self._off[name] = (source, None)
            return
        self._meta[name] = (source, None)
        if plugin.is_file and plugin.path is not None and not plugin.path.is_file():
            raise PluginError(name, "import", f"no such plugin file: {plugin.spec}")
        with plugin_code(name, "import", failure=named):
            module = import_local(plugin)
        target: object = module
        if replaces is not None and replaces.attr:
            with plugin_code(name, "import", failure=named):
                target = getattr(module, replaces.attr)
        self._meta[name] = (source, getattr(module, "__version__", None))
        self._register(target, name)

    def register(self, plugin: object, name: str) -> None:
        """Register an already imported plugin object or module."""
        self._seen.add(name)
        self._meta.setdefault(name, ("registered in Python", getattr(plugin, "__version__",
                                                                     None)))
        self._register(plugin, name)

    def _register(self, plugin: object, name: str) -> None:
        declared = supported_api(plugin, name)
        other = next((n for n, p in self.pm.list_name_plugin() if p is plugin), None)
        if other is not None:
            raise PluginError(name, "register", f"this is the same module as plugin "
                              f"{other!r}, which is already loaded; load it once (disable "
                              f"one of them with --disable-plugin)")
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(name, "register", str(exc)) from exc
        if declared is not None:
            self._api[name] = declared
        self._criteria = None
        self._sections = None
        known = self._spec_names()
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

    def disabled_plugins(self) -> list[str]:
        """The plugins this manager knows of but did not load (--disable-plugin)."""
        return sorted(self._off)

    def info(self) -> list[PluginInfo]:
        """Every plugin with its source, version, hooks and what it provides; failed ones
        with their error, disabled ones marked."""
        criteria = self.criteria() if self._strict else self._safe(self.criteria, {})
        sections = (self.scenario_sections() if self._strict
                    else self._safe(self.scenario_sections, {}))
        result = []
        for name in self.plugin_names():
            source, version = self._meta.get(name, ("registered in Python", None))
            mine = tuple(sorted(c for c in criteria if self._criterion_owner.get(c) == name))
            needs = {criteria[c].requires_section for c in mine} | set(
                self._constraint_sections(name))
            commands = (self._commands(name) if self._strict
                        else self._safe(partial(self._commands, name), ()))
            result.append(PluginInfo(
                name, source, version, tuple(self._hook_names(name)), mine,
                tuple(sorted(s for s in sections if self._section_owner.get(s) == name)),
                commands=commands, requires_sections=tuple(sorted(n for n in needs if n)),
                supports_api=self._api.get(name)))
        for failure in self.failures:
            source, version = self._meta.get(failure.plugin, ("unknown", None))
            result.append(PluginInfo(failure.plugin, source, version, (), error=str(failure)))
        for name, (source, version) in sorted(self._off.items()):
            result.append(PluginInfo(name, source, version, (), disabled=True))
        return result

    def _safe(self, getter: Callable[[], Any], default: Any) -> Any:
        try:
            return getter()
        except PluginError as exc:
            self.failures.append(exc)
            return default

    def _commands(self, name: str) -> tuple[str, ...]:
        """The subcommands plugin `name` adds, found by letting it add them to a scratch
        application."""
        impls = [i for i in self.pm.hook.cxplan_cli.get_hookimpls() if i.plugin_name == name]
        if not impls:
            return ()
        import typer

        scratch = typer.Typer()
        with plugin_code(name, "cxplan_cli"):
            impls[0].function(app=scratch)
        return tuple(_command_name(c) for c in scratch.registered_commands) + tuple(
            str(g.name) for g in scratch.registered_groups if g.name)

    def _constraint_sections(self, name: str) -> tuple[str, ...]:
        impls = [i for i in self.pm.hook.cxplan_constraints.get_hookimpls()
                 if i.plugin_name == name]
        return tuple(s for i in impls for s in getattr(i.function, SECTIONS_ATTRIBUTE, ()))

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
                needs = criterion.requires_section
                if needs is not None and (not isinstance(needs, str) or not needs):
                    raise PluginError(plugin, "cxplan_criteria", f"criterion "
                                      f"{criterion.name!r}: requires_section must be a "
                                      f"section name, got {needs!r}")
                found[criterion.name] = GuardedCriterion(
                    criterion, plugin, builtin=plugin in BUILTIN_PLUGINS)
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
        """('plugin:name', constraint) for every constraint the plugins add to a model.

        The name is as the plugin wrote it (it names the constraint in conflicts, binding
        constraints and marginal values), so it must be non-empty and unique within the
        plugin."""
        import pulp

        result: list[tuple[str, object]] = []
        for plugin, value in self._call("cxplan_constraints", ctx=ctx):
            names: set[str] = set()
            for item in _sequence(value, plugin, "cxplan_constraints",
                                  "a list of (name, constraint)"):
                if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                        or not isinstance(item[1], pulp.LpConstraint)):
                    raise PluginError(plugin, "cxplan_constraints",
                                      f"returned {item!r}, not a (name, pulp.LpConstraint) pair")
                name = item[0].strip()
                if not name or name in names:
                    raise PluginError(plugin, "cxplan_constraints", (
                        f"two constraints are named {name!r}" if name else
                        "a constraint has an empty name") + "; each needs a name of its own "
                        "(it names the constraint in conflicts and binding constraints)")
                names.add(name)
                result.append((f"{plugin}:{name}", item[1]))
        return result

    def section_needs(self) -> list[tuple[str, str, str | None]]:
        """(section, plugin, criterion) for every scenario section a plugin's criterion
        (`Criterion.requires_section`) or constraints (`@requires_section`; criterion
        None) need. A section that no plugin declares is the needing plugin's error."""
        models = self.scenario_sections()
        needs: list[tuple[str, str, str | None]] = [
            (c.requires_section, self._criterion_owner[name], name)
            for name, c in self.criteria().items() if c.requires_section]
        for impl in self.pm.hook.cxplan_constraints.get_hookimpls():
            needs += [(section, impl.plugin_name, None)
                      for section in getattr(impl.function, SECTIONS_ATTRIBUTE, ())]
        for section, plugin, criterion in needs:
            if section not in models:
                what = f"criterion {criterion!r} needs" if criterion else "its constraints need"
                raise PluginError(plugin, "requires_section", f"{what} the section "
                                  f"{section!r}, which no plugin declares (hook "
                                  f"cxplan_scenario_sections){did_you_mean(section, models)}")
        return needs

    def section_owners(self) -> dict[str, str]:
        """The plugin that declares each scenario section."""
        self.scenario_sections()
        return dict(self._section_owner)

    @staticmethod
    def section_guard(plugin: str, section: str) -> AbstractContextManager[None]:
        """The context a section's validation runs in: a validator that crashes (anything
        but a validation error) is a PluginError naming the plugin."""
        return plugin_code(plugin, f"validating section {section!r}")

    def unavailable_criteria(self) -> dict[str, str]:
        """Why criteria of disabled built-in plugins cannot be used: {name: reason}.

        (A disabled third-party plugin is never imported, so its criteria are not known;
        messages list the disabled plugins instead.)"""
        reasons: dict[str, str] = {}
        for name in self._off:
            if name not in BUILTIN_PLUGINS:
                continue
            module = importlib.import_module(name)
            for criterion in module.cxplan_criteria():
                reasons[criterion.name] = (f"its plugin '{name}' is disabled "
                                           "(--disable-plugin)")
        return reasons

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
                                      f"returned {item!r}, not a cxplan.plugin_api.ReportSection")
                _claim(ids, item.id, plugin, "cxplan_report_sections",
                       f"section id {item.id!r} is also used by")
                sections.append(item)
        return sections

    def add_cli_commands(self, app: typer.Typer, wrap: CommandWrapper | None = None) -> None:
        """Let plugins register subcommands; a name clash with another command is an error.
        `wrap(plugin, command, callback)` replaces each added command's callback (the command
        line's, so that a failure in the command names the plugin)."""
        hook = self.pm.hook.cxplan_cli
        for impl in hook.get_hookimpls():
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
                if wrap is not None and command.callback is not None:
                    command.callback = wrap(impl.plugin_name, _command_name(command),
                                            command.callback)

    def plan_finished(self, plan: Plan, scenario: Scenario) -> None:
        self._call("cxplan_plan_finished", plan=plan, scenario=scenario)


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
_override: list[CxplanPlugins] = []  # use_plugin_manager: managers in place of the shared one


def configure(extra: Iterable[str] = (), disabled: Iterable[str] = ()) -> None:
    """Set the local plugins (`--plugin`) and disabled plugins (`--disable-plugin`) of the
    process-wide manager; it is rebuilt on next use."""
    _settings["extra"] = tuple(extra)
    _settings["disabled"] = tuple(disabled)
    _shared_manager.cache_clear()


def inspecting_manager() -> CxplanPlugins:
    """A new manager with the configured plugins that records a failing plugin in
    `failures` instead of raising (for `cxplan plugins`, which must list broken ones).
    Under `use_plugin_manager`, that manager."""
    if _override:
        return _override[-1]
    return CxplanPlugins(extra=_settings["extra"], disabled=_settings["disabled"],
                         strict=False)


def get_plugin_manager() -> CxplanPlugins:
    """The process-wide plugin manager with built-ins, installed and configured plugins
    (or the one `use_plugin_manager` put in its place)."""
    if _override:
        return _override[-1]
    return _shared_manager()


def overridden() -> bool:
    """Whether `use_plugin_manager` is in effect."""
    return bool(_override)


@contextlib.contextmanager
def use_plugin_manager(manager: CxplanPlugins) -> Iterator[CxplanPlugins]:
    """Inside the block, `manager` is the process-wide one: the API's defaults and the
    command line use it (`cxplan.testing` runs a plugin's tests so)."""
    _override.append(manager)
    try:
        yield manager
    finally:
        _override.remove(manager)


@lru_cache(maxsize=1)
def _shared_manager() -> CxplanPlugins:
    return CxplanPlugins(extra=_settings["extra"], disabled=_settings["disabled"])
