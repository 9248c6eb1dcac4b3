"""Plugins' sections of a scenario: everything under the top-level key `extensions`, one
entry per section a plugin declares (hook `cxplan_scenario_sections`):

    extensions:
      nps:
        touchpoints: {branch: {failed: {...}, passed: {...}}}

Each entry is validated by its plugin's pydantic model, which arrives here as data
(`SectionRules`, with the plugin that owns it and the sections plugins' criteria and
constraints need); problems are reported like every other scenario problem, located as
`extensions.nps.touchpoints...`, and name the plugin.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from cxplan.scenario.hints import type_hint
from cxplan.scenario.problems import ProblemSink
from cxplan.text import did_you_mean, shorten

EXTENSIONS_KEY = "extensions"
CRITERIA_KEY = "criteria"


@dataclass(frozen=True)
class SectionNeed:
    """A plugin needs a section: for one of its criteria (when a scenario names it), or for
    its constraints (`criterion` None: always, while the plugin is active)."""

    section: str
    plugin: str
    criterion: str | None = None


def _no_guard(plugin: str, section: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class SectionRules:
    """What the plugins say about `extensions:`: each section's model and plugin, the
    sections their criteria and constraints need, the plugins disabled for this run, and
    `guard(plugin, section)`, the context a section's validation runs in (so that a
    validator that crashes names its plugin)."""

    models: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)
    needs: Sequence[SectionNeed] = ()
    disabled: Sequence[str] = ()
    guard: Callable[[str, str], AbstractContextManager[None]] = _no_guard


def check_extensions(
    data: Mapping[str, Any], rules: SectionRules, report: ProblemSink,
    criteria: Mapping[str, Any] | None = None,
) -> dict[str, BaseModel]:
    """Validate the scenario's `extensions` mapping and the sections plugins need; report
    problems, return the valid sections.

    `report(path, message, hint)` records a located error; `criteria` are the criteria the
    scenario uses (its `criteria:` map, or the default).
    """
    raw = data.get(EXTENSIONS_KEY)
    present = raw if isinstance(raw, dict) else {}
    _check_needs(rules, present, criteria or {}, report)
    if not isinstance(raw, dict):
        return {}  # absent, or the wrong type (the scenario model reports that)
    valid: dict[str, BaseModel] = {}
    hint: str | None
    for key, value in raw.items():
        where: tuple[str | int, ...] = (EXTENSIONS_KEY, str(key))
        model = rules.models.get(str(key))
        if model is None:
            known = sorted(rules.models)
            unknown = (f"sections of the installed plugins: {', '.join(known)}" if known else
                       "no installed plugin declares a scenario section; install the plugin "
                       "this section is for, or remove it")
            if rules.disabled:
                unknown += f" (disabled for this run: {', '.join(rules.disabled)})"
            report(where, f"unknown extension section '{key}'{did_you_mean(key, known)}",
                   unknown)
            continue
        owner = rules.owners.get(str(key))
        errors = None
        with rules.guard(owner or "?", str(key)):
            try:
                valid[str(key)] = model.model_validate(value, context={"scenario": data})
            except ValidationError as exc:
                errors = exc.errors(include_url=False)
        for err in errors or ():
            loc = tuple(err["loc"])
            if loc[-1:] == ("[key]",):  # a problem with a mapping key: point at the key
                loc = loc[:-1]
            path = (*where, *loc)
            kind = err["type"]
            if kind == "extra_forbidden":
                known = _fields(model, loc[:-1])
                message = f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], known)}"
                hint = f"allowed here: {', '.join(known)}" if known else None
            elif kind == "missing":
                message, hint = "required value is missing", None
            elif kind == "value_error":  # the plugin's own check: its message says it all
                message, hint = err["msg"].removeprefix("Value error, "), None
            else:
                message = f"{err['msg']} (got {shorten(err.get('input'))})"
                hint = type_hint(kind, err.get("input"), err.get("ctx"))
            report(path, message, _owned(hint, key, owner))
    return valid


def _owned(hint: str | None, section: object, owner: str | None) -> str | None:
    """The hint, saying whose section it is (the plugin to read about, or to fix)."""
    if owner is None:
        return hint
    whose = f"`extensions.{section}` is the section of plugin '{owner}'"
    return f"{hint}; {whose}" if hint else whose


def _check_needs(rules: SectionRules, present: Mapping[str, Any],
                 criteria: Mapping[str, Any], report: ProblemSink) -> None:
    """A section a plugin's criterion (named by the scenario) or constraints need, but the
    scenario does not have, is an error naming the plugin."""
    for need in rules.needs:
        if need.section in present:
            continue
        example = f"`{EXTENSIONS_KEY}: {{{need.section}: ...}}`"
        if need.criterion is None:
            report((EXTENSIONS_KEY,) if present else (),
                   f"plugin '{need.plugin}' needs the section `{EXTENSIONS_KEY}."
                   f"{need.section}` for its constraints, and the scenario has none",
                   f"add {example} (the plugin's documentation describes it), or run "
                   f"without the plugin (--disable-plugin {need.plugin})")
        elif need.criterion in criteria:
            report((CRITERIA_KEY, need.criterion),
                   f"criterion '{need.criterion}' (plugin '{need.plugin}') needs the section "
                   f"`{EXTENSIONS_KEY}.{need.section}`, and the scenario has none",
                   f"add {example} (the plugin's documentation describes it), or remove "
                   "the criterion")


def _fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (as written) of the nested model at `loc`, when it can be followed."""
    current: Any = model
    in_container = False  # the next part of `loc` is a list index or a mapping key
    for part in loc:
        if in_container:
            in_container = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        by_name = {f.alias or n: f for n, f in current.model_fields.items()}
        info = by_name.get(str(part))
        if info is None:
            return []
        in_container = _is_container(info.annotation)
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _is_container(annotation: Any) -> bool:
    if get_origin(annotation) in (dict, list):
        return True
    return any(_is_container(a) for a in getattr(annotation, "__args__", ())
               if get_origin(annotation) is not None and get_origin(annotation) not in (dict, list))


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside `Model`, `list[Model]`, `dict[str, Model]` or `Model | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
