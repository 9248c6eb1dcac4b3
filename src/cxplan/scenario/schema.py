"""The scenario format as a JSON Schema (draft 2020-12), for editors and other programs.

`cxplan schema` prints it; `docs/scenario.schema.json` is the same text (a test keeps
them equal). Point an editor at it for completion and checks while writing a scenario
(VS Code's YAML extension: `# yaml-language-server: $schema=<path>` as the first line).

It is derived from the pydantic models (`cxplan.scenario.models`), plus what they do not
express: amounts per period with a horizon, the short forms of priority levels,
distributions in place of numbers (`cxplan.scenario.distributions`) and `extends`.
The schema checks single values and shapes; references between ids, sums of
probabilities and the journey's shape are checked by `cxplan validate`, which also
reads variant files (`extends`) only after merging them with their base.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from cxplan.scenario.distributions import DIRICHLET, GROUP, KINDS
from cxplan.scenario.models import Scenario
from cxplan.scenario.uncertainty import COMPLETED, REDUCTIONS, TOUCHPOINT_FIELDS

SCHEMA_ID = "https://cxplan.example/schema/scenario-v1.json"


@cache
def _schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    defs = schema["$defs"]
    amount = {"type": "number", "minimum": 0, "maximum": 1e15}
    per_period = {"anyOf": [amount, {"type": "array", "items": amount, "minItems": 1,
                                     "maxItems": 120}],
                  "description": "One number, or with a horizon one number per period."}
    props = schema["properties"]
    props["budget"] = {"anyOf": [*per_period["anyOf"], {"type": "null"}],
                       "description": "Optional. With a horizon: a list gives each period's "
                                      "money, one number the total over the horizon."}
    props["teams"]["additionalProperties"] = per_period
    defs["Persona"]["properties"]["customers"] = {**per_period, "default": 1}
    _add_distributions(defs)
    level = copy.deepcopy(defs["PriorityLevel"])
    defs["PriorityLevel"] = {"anyOf": [
        level, {"type": "string", "description": "A single criterion."},
        {"type": "array", "items": {"type": "string"}, "minItems": 1,
         "description": "Criteria blended by their weights."}]}
    extends = {
        "type": "string",
        "description": "A base scenario file (relative to this one); this file then gives "
                       "only what differs (merged by id; `remove: true` drops an item)."}
    # A variant gives only what differs: its items are partial, merged by id with the
    # base's, and the merged scenario is checked in full by `cxplan validate`.
    partial_item = {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string", "description": "The base's item to change (or a new one)."},
        "remove": {"type": "boolean", "description": "true: drop the base's item."}}}
    variant_props = {**copy.deepcopy(props), "extends": extends,
                     "journey": {"type": "object", "description": "What differs from the "
                                 "base's journey (edges merged by from and to)."}}
    for key in ("touchpoints", "improvements", "personas"):
        variant_props[key] = {"type": "array", "items": partial_item,
                              "description": f"The {key} that differ from the base's, "
                                             "merged by id."}
    variant = {"type": "object", "additionalProperties": False, "required": ["extends"],
               "properties": variant_props,
               "description": "A variant of another scenario (`extends`)."}
    full = {key: schema.pop(key) for key in list(schema) if key not in ("$defs",)}
    full["title"] = "Scenario"
    defs["Scenario"] = full
    defs["Variant"] = variant
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "cxplan scenario, format version 1",
            "description": "A customer journey with touchpoints, candidate improvements and "
                           "limits; see the README and docs/model.md.",
            "$defs": defs,
            "if": {"type": "object", "required": ["extends"]},
            "then": {"$ref": "#/$defs/Variant"},
            "else": {"$ref": "#/$defs/Scenario"}}


_KIND_TEXT = {
    "uniform": "Any value from low to high, equally likely.",
    "triangular": "From low to high, likeliest at the mode (linear density).",
    "pert": "From low to high, likeliest at the mode (a beta with weight 4 on the mode).",
    "beta": "A share from 0 to 1 with mean alpha / (alpha + beta) (probabilities only).",
    "lognormal": "An amount with the given median and 90 % quantile (amounts only).",
    "normal": "Mean and sd, truncated to the field's range (validate says when it matters).",
}


def _add_distributions(defs: dict[str, Any]) -> None:
    """Every value that may be uncertain also takes a distribution; an edge's probability
    also a share of a Dirichlet over its source's out-edges (docs/model.md)."""
    kinds = {kind: {"type": "array", "items": {"type": "number"}, "minItems": len(names),
                    "maxItems": len(names),
                    "description": f"[{', '.join(names)}]. {_KIND_TEXT[kind]}"}
             for kind, names in KINDS.items()}
    defs["Distribution"] = {
        "type": "object", "additionalProperties": False,
        "properties": {**kinds, GROUP: {
            "type": "string", "minLength": 1, "maxLength": 200,
            "description": "Distributions with the same group take one draw together."}},
        "oneOf": [{"required": [kind]} for kind in KINDS],
        "description": "An uncertain value: deterministic commands use its mean, "
                       "`cxplan robust` draws it."}
    defs["DirichletShare"] = {
        "type": "object", "additionalProperties": False, "required": [DIRICHLET],
        "properties": {DIRICHLET: {"type": "number", "exclusiveMinimum": 0,
                                   "description": "α: the larger, the surer (the mean "
                                                  "share is α over the sum of the α's)."}},
        "description": "This edge's concentration in a Dirichlet over every edge out of "
                       "its touchpoint (and `completed`): drawn together, their sum stays "
                       "at most 1."}
    distribution = {"$ref": "#/$defs/Distribution"}

    def uncertain(prop: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
        keep: dict[str, Any] = {k: prop.pop(k) for k in ("title", "default", "description")
                                if k in prop}
        options = prop.get("anyOf", [prop])
        return {**keep, "anyOf": [*options, distribution, *extra]}

    for model, names in (("Touchpoint", TOUCHPOINT_FIELDS), ("TouchpointOverride",
                                                              TOUCHPOINT_FIELDS),
                         ("Effect", REDUCTIONS), ("Improvement", ("cost",)),
                         ("Persona", ("customers",))):
        props = defs[model]["properties"]
        for name in names:
            props[name] = uncertain(props[name])
    edge = defs["Edge"]["properties"]
    edge["probability"] = uncertain(edge["probability"], {"$ref": "#/$defs/DirichletShare"})
    entry = defs["JourneyGraph"]["properties"]["entry"]
    entry["additionalProperties"] = uncertain(entry["additionalProperties"])
    persona_entry = defs["Persona"]["properties"]["entry"]["anyOf"][0]
    persona_entry["additionalProperties"] = uncertain(persona_entry["additionalProperties"])
    completed = {"type": "object", "additionalProperties": {"$ref": "#/$defs/DirichletShare"},
                 "description": "Per touchpoint whose out-edges are a Dirichlet: the "
                                "concentration of 'journey completed' (the remainder)."}
    defs["JourneyGraph"]["properties"][COMPLETED] = completed
    defs["Persona"]["properties"][COMPLETED] = copy.deepcopy(completed)


def scenario_schema(
    sections: Mapping[str, type[BaseModel]] | None = None,
    owners: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of format version 1 (a fresh copy).

    With `sections` (the installed plugins' scenario sections: `cxplan schema` passes
    them), `extensions` lists each one with its model's schema (its definitions under
    `$defs` as `<section>.<Model>`), and a section not listed is refused, as `cxplan
    validate` refuses it. Without, `extensions` is any mapping: the published
    `docs/scenario.schema.json` cannot know which plugins a reader has."""
    schema = copy.deepcopy(_schema())
    if not sections:
        return schema
    defs = schema["$defs"]
    properties: dict[str, Any] = {}
    for name, model in sorted(sections.items()):
        part = model.model_json_schema(by_alias=True, mode="validation",
                                       ref_template=f"#/$defs/{name}.{{model}}")
        for key, definition in part.pop("$defs", {}).items():
            defs[f"{name}.{key}"] = definition
        owner = (owners or {}).get(name)
        if owner:
            part["description"] = (part.get("description", "") + f" (plugin '{owner}')").strip()
        properties[name] = part
    defs["Scenario"]["properties"]["extensions"] = {
        "type": "object", "title": "Extensions", "properties": properties,
        "additionalProperties": False,
        "description": "Plugins' own sections, validated by each plugin."}
    return schema
