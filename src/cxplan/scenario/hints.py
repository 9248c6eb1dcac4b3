"""Messages and hints for values the scenario models refuse: what pydantic found, said the
way a scenario author understands it (the key's allowed neighbours, a close spelling, the
range of a field, how to write a number)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, get_args

from cxplan.scenario import models
from cxplan.scenario.source import Path_
from cxplan.text import did_you_mean, read_amount, shorten

if TYPE_CHECKING:
    from pydantic import ValidationError

    from cxplan.scenario.problems import ProblemLog


def value_kind(value: Any) -> str:
    """"a list", "text", "a number", ...: what a value is, in words."""
    return {list: "a list", str: "text", int: "a number", float: "a number",
            bool: "true/false", type(None): "empty"}.get(type(value), type(value).__name__)


def report_validation_error(log: ProblemLog, exc: ValidationError) -> None:
    """Every error of the scenario models' validation, as a located problem with a hint."""
    for err in exc.errors(include_url=False):
        path: Path_ = tuple(err["loc"])
        kind = err["type"]
        value = err.get("input")
        got = f" (got {shorten(value)})"
        if path[-1:] == ("[key]",):
            # A mapping key of the wrong type (only possible when a dict is passed in).
            log.error((*path[:-2], str(path[-2])), f"keys must be text{got}")
        elif kind == "extra_forbidden":
            known = known_keys(path[:-1])
            msg = f"unknown key '{path[-1]}'{did_you_mean(path[-1], known)}"
            hint = (f"allowed here: {', '.join(known)}" if known
                    else "see the scenario format (docs/model.md)")
            if str(path[-1]).isdigit() and len(str(path[-1])) == 3:
                # `{customers: 40,000}`: the comma ended the entry, and `000` became a key
                hint = ("a comma separates the entries of { }: a thousands separator in a "
                        "number there (40,000) makes a key of the digits after it; write "
                        "40000")
            log.error(path, msg, hint)
        elif kind == "missing":
            log.error(path, "required value is missing",
                       "the first line of a scenario is `cxplan: 1`"
                       if path == ("cxplan",) else None)
        elif kind == "literal_error" and path == ("cxplan",):
            continue  # reported by validate_document
        elif kind == "value_error":  # a field's own check: its message says it all
            log.error(path, err["msg"].removeprefix("Value error, "),
                      "for example `terminal_value: 8` (periods) or `terminal_value: "
                      "perpetuity`" if path[-1:] == ("terminal_value",) else None)
        elif kind in ("string_pattern_mismatch", "string_too_short"):
            log.error(path, "an id must not be empty or start or end with a space" + got)
        else:
            log.error(path, f"{err['msg']}{got}",
                       type_hint(kind, value, err.get("ctx"), is_fraction(path)))


def type_hint(kind: str, value: Any, ctx: dict[str, Any] | None,
               fraction: bool = False) -> str | None:
    """A hint for a pydantic error type, where there is something useful to say."""
    number_kinds = ("float_type", "int_type", "float_parsing", "int_parsing", "int_from_float")
    if kind in number_kinds and isinstance(value, bool):
        return "true/false (also yes/no/on/off in YAML) is not a number here"
    if kind in number_kinds and isinstance(value, str):
        return number_text_hint(value, fraction)
    if kind == "int_from_float" or (kind == "int_type" and isinstance(value, float)):
        return "a whole number is needed here"
    if kind == "string_type" and value is not None and not isinstance(value, list | dict):
        return (f"put it in quotes: '{value}'" if not isinstance(value, bool) else
                "yes/no/on/off/true/false read as true/false in YAML: put the text in quotes")
    if kind == "bool_type":
        return "write true or false"
    if kind == "list_type":
        return "write a list, e.g. [a, b] (or [a] for one item)"
    if kind in ("dict_type", "model_type"):
        return "write a mapping of keys and values, e.g. {key: value}"
    bounds = ctx or {}
    if (kind == "less_than_equal" and bounds.get("le") == 1.0) or (
        kind == "greater_than_equal" and bounds.get("ge") == 0.0 and fraction
    ):
        return "probabilities and reductions are between 0 and 1 (write 25 % as 0.25)"
    if kind == "greater_than_equal" and bounds.get("ge") == 0.0:
        return "this value cannot be negative"
    if kind == "finite_number":
        return "NaN and infinity are not allowed; write a finite number"
    if kind == "too_short":
        return "give at least one item"
    return None


def number_text_hint(value: str, fraction: bool = False) -> str:
    """How to write, as a number, text that was meant as one."""
    read = read_amount(value)
    if read is None:
        return "write a number, such as 1200 or 0.25"
    number, percent = read
    if percent:
        return (f"write {value.strip()} as {number / 100:g}" if fraction else
                "write the amount itself: a percentage of what is not known here")
    plain = f"{number:.15g}"
    if plain == value.strip():
        return "write the number without quotes"
    return (f"write {plain}: a plain number, without a scale (k, M) or thousands "
            "separators (YAML reads those as text)")


def known_keys(path: Path_) -> list[str]:
    """Field names (as written in a file) of the model that sits at `path`."""
    model = model_at(path)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def is_fraction(path: Path_) -> bool:
    """Whether the value at `path` is a field bounded by 1 (a probability, share or
    reduction), as far as the models tell."""
    model = model_at(path[:-1]) if path else None
    if model is None:
        return False
    for name, field in model.model_fields.items():
        if path[-1] in (name, field.alias):
            return any(getattr(m, "le", None) == 1.0
                       for m in _constraints(field.metadata, field.annotation))
    return False


def _constraints(metadata: list[Any], annotation: Any) -> Iterator[Any]:
    """A field's constraints, also those inside `Annotated[...] | None`."""
    yield from metadata
    for inner in get_args(annotation):
        for extra in getattr(inner, "__metadata__", ()):
            yield from getattr(extra, "metadata", ())


def model_at(path: Path_) -> Any:
    """The scenario model that sits at `path`, or None."""

    shape = tuple("#" if isinstance(part, int) else part for part in path)
    model: type[models.Strict] | None
    match shape:
        case ():
            model = models.Scenario
        case ("touchpoints", "#"):
            model = models.Touchpoint
        case ("improvements", "#"):
            model = models.Improvement
        case ("improvements", "#", "effects", "#"):
            model = models.Effect
        case ("personas", "#"):
            model = models.Persona
        case ("personas", "#", "touchpoints", _):
            model = models.TouchpointOverride
        case ("journey",):
            model = models.JourneyGraph
        case ("objective",):
            model = models.Objective
        case ("horizon",):
            model = models.Horizon
        case ("objective", "priorities", "#"):
            model = models.PriorityLevel
        case ("journey", "edges", "#") | ("personas", "#", "edges", "#"):
            model = models.Edge
        case _:
            model = None
    return model
