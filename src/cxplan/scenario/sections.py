"""Plugins' sections of a scenario: everything under the top-level key `extensions`, one
entry per section a plugin declares (hook `cxplan_scenario_sections`):

    extensions:
      nps:
        touchpoints: {branch: {failed: {...}, passed: {...}}}

Each entry is validated by its plugin's pydantic model, which arrives here as data;
problems are reported like every other scenario problem, located as
`extensions.nps.touchpoints...`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from cxplan.scenario.hints import type_hint
from cxplan.scenario.problems import ProblemSink
from cxplan.text import did_you_mean, shorten

EXTENSIONS_KEY = "extensions"


def check_extensions(
    data: Mapping[str, Any], sections: Mapping[str, type[BaseModel]], report: ProblemSink
) -> dict[str, BaseModel]:
    """Validate the scenario's `extensions` mapping; report problems, return valid sections.

    `report(path, message, hint)` records a located error.
    """
    raw = data.get(EXTENSIONS_KEY)
    if not isinstance(raw, dict):
        return {}  # absent, or the wrong type (the scenario model reports that)
    valid: dict[str, BaseModel] = {}
    for key, value in raw.items():
        where: tuple[str | int, ...] = (EXTENSIONS_KEY, str(key))
        model = sections.get(str(key))
        if model is None:
            known = sorted(sections)
            report(where, f"unknown extension section '{key}'{did_you_mean(key, known)}",
                   f"sections of the installed plugins: {', '.join(known)}" if known else
                   "no installed plugin declares a scenario section; install the plugin "
                   "this section is for, or remove it")
            continue
        try:
            valid[str(key)] = model.model_validate(value, context={"scenario": data})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(err["loc"])
                if loc[-1:] == ("[key]",):  # a problem with a mapping key: point at the key
                    loc = loc[:-1]
                path = (*where, *loc)
                kind = err["type"]
                if kind == "extra_forbidden":
                    known = _fields(model, loc[:-1])
                    report(path, f"unknown key '{loc[-1]}'{did_you_mean(loc[-1], known)}",
                           f"allowed here: {', '.join(known)}" if known else None)
                elif kind == "missing":
                    report(path, "required value is missing", None)
                elif kind == "value_error":  # the plugin's own check: its message says it all
                    report(path, err["msg"].removeprefix("Value error, "), None)
                else:
                    report(path, f"{err['msg']} (got {shorten(err.get('input'))})",
                           type_hint(kind, err.get("input"), err.get("ctx")))
    return valid


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
