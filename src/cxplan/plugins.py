"""The plugin manager: built-ins and installed plugins, loaded the same way.

Built-in criteria are registered as plugins exactly like third-party ones
(entry-point group `cxplan`). Every failure of a plugin — it does not import,
a hook raises, a hook returns the wrong type, two criteria share a name — is
a `PluginError` naming the plugin and the hook.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

import pluggy

from cxplan import hookspecs
from cxplan.criterion import Criterion
from cxplan.errors import PluginError

BUILTIN_PLUGINS = ("cxplan.criteria.experience",)
ENTRY_POINT_GROUP = "cxplan"


class CxplanPlugins:
    """A pluggy manager plus typed, checked access to what plugins contribute."""

    def __init__(self, *, load_entry_points: bool = True, disabled: Iterable[str] = ()) -> None:
        self.pm = pluggy.PluginManager("cxplan")
        self.pm.add_hookspecs(hookspecs)
        self._disabled = set(disabled)
        for module in BUILTIN_PLUGINS:
            self.register_module(module)
        if load_entry_points:
            self._load_entry_points()
        self._criteria: dict[str, Criterion] | None = None

    def _load_entry_points(self) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self._disabled or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(ep.name, "import", f"failed to load {ep.value!r}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            self._register(plugin, ep.name)

    def register_module(self, dotted: str, name: str | None = None) -> None:
        """Import `dotted` and register it as a plugin (used for built-ins and --plugin)."""
        name = name or dotted
        if name in self._disabled:
            return
        try:
            module = importlib.import_module(dotted)
        except Exception as exc:
            raise PluginError(name, "import", f"{type(exc).__name__}: {exc}") from exc
        self._register(module, name)

    def register(self, plugin: object, name: str) -> None:
        """Register an already imported plugin object or module."""
        self._register(plugin, name)
        self._criteria = None

    def _register(self, plugin: object, name: str) -> None:
        try:
            self.pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(name, "register", str(exc)) from exc

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def _call(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook implementation by implementation, so failures name their plugin."""
        results: list[tuple[str, Any]] = []
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            try:
                value = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:
                raise PluginError(impl.plugin_name, hook_name,
                                  f"raised {type(exc).__name__}: {exc}") from exc
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
            if not isinstance(value, list | tuple):
                raise PluginError(plugin, "cxplan_criteria",
                                  f"must return a list of Criterion, got {type(value).__name__}")
            for criterion in value:
                if not isinstance(criterion, Criterion) or not criterion.name:
                    raise PluginError(plugin, "cxplan_criteria",
                                      f"returned {criterion!r}, which is not a named Criterion")
                if criterion.name in found:
                    raise PluginError(plugin, "cxplan_criteria",
                                      f"criterion {criterion.name!r} is also registered by "
                                      f"plugin {owner[criterion.name]!r}")
                found[criterion.name] = criterion
                owner[criterion.name] = plugin
        self._criteria = found
        return found

    def criteria_names(self) -> list[str]:
        return sorted(self.criteria())

    def constraints_for(self, ctx: object) -> list[tuple[str, object]]:
        """('plugin:name', constraint) for every constraint the plugins add to a model."""
        import pulp

        result: list[tuple[str, object]] = []
        for plugin, value in self._call("cxplan_constraints", ctx=ctx):
            if not isinstance(value, list | tuple):
                raise PluginError(plugin, "cxplan_constraints",
                                  f"must return a list of (name, constraint), got "
                                  f"{type(value).__name__}")
            for item in value:
                if (not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str)
                        or not isinstance(item[1], pulp.LpConstraint)):
                    raise PluginError(plugin, "cxplan_constraints",
                                      f"returned {item!r}, not a (name, pulp.LpConstraint) pair")
                result.append((f"{plugin}:{item[0]}", item[1]))
        return result


@lru_cache(maxsize=1)
def get_plugin_manager() -> CxplanPlugins:
    """The process-wide plugin manager with built-ins and installed plugins."""
    return CxplanPlugins()

