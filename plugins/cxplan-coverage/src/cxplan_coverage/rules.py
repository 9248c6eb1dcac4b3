"""The coverage rules: which candidates cover what, and the constraints that follow.

An improvement *covers* a touchpoint when it has an effect on it; it covers a stage
when it covers a touchpoint of that stage, and a persona when it covers a touchpoint
that persona's customers can reach. The rules:

- `stages`: for each stage s, Σ_{j covers s} x_j ≥ 1;
- `personas`: for each persona q, Σ_{j covers q} x_j ≥ 1;
- `moments_of_truth`: for each moment-of-truth touchpoint t, Σ_{j covers t} x_j ≥ 1;
- `max_owner_share` X: for each owner o, Σ_{j owned by o} cost_j x_j ≤ X · budget
  (without a budget: ≤ X · the plan's total cost). Improvements without an owner are
  not capped.

`all` means every stage / persona / moment of truth that at least one candidate
covers (the others cannot be covered, and are shown by `cxplan coverage`). A name
given explicitly is required even if nothing covers it: the plan is then
infeasible, and the conflict names the rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from cxplan.plugin_api import ReportSection, build_journey, did_you_mean

if TYPE_CHECKING:
    from cxplan.plugin_api import ModelView, Plan, Scenario

Selection = Literal["all"] | list[str]


class CoverageSection(BaseModel):
    """`extensions: {coverage: ...}`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    stages: Selection | None = None
    personas: Selection | None = None
    moments_of_truth: Selection | None = None
    max_owner_share: Annotated[float, Field(gt=0.0, le=1.0)] | None = None

    @field_validator("stages", "personas", "moments_of_truth")
    @classmethod
    def _names_exist(cls, chosen: Selection | None, info: ValidationInfo) -> Selection | None:
        if not isinstance(chosen, list):
            return chosen
        known = _known(info.field_name or "", (info.context or {}).get("scenario") or {})
        unknown = [name for name in chosen if name not in known]
        if unknown:
            kind = {"stages": "stage", "personas": "persona",
                    "moments_of_truth": "moment of truth"}[info.field_name or ""]
            raise ValueError("; ".join(
                f"unknown {kind} '{name}'{did_you_mean(name, known)}" for name in unknown)
                + f" (known: {', '.join(map(str, known)) or 'none'})")
        return chosen


def _known(field: str, data: dict[str, Any]) -> list[str]:
    """The names a rule may list, read defensively from the raw scenario."""
    touchpoints = [t for t in data.get("touchpoints") or [] if isinstance(t, dict)]
    if field == "stages":
        return list(data.get("stages") or []) or sorted(
            {t["stage"] for t in touchpoints if isinstance(t.get("stage"), str)})
    if field == "personas":
        return [str(p.get("id")) for p in data.get("personas") or [] if isinstance(p, dict)] \
            or ["all"]
    return [str(t.get("id")) for t in touchpoints if t.get("moment_of_truth")]


def stage_of(scenario: Scenario) -> dict[str, str]:
    return {tp.id: tp.stage for tp in scenario.touchpoints if tp.stage is not None}


def covering(
    scenario: Scenario, reachable: dict[str, set[str]]
) -> dict[str, dict[str, list[str]]]:
    """{rule: {stage / persona / touchpoint: [ids of the candidates covering it]}}."""
    stages = stage_of(scenario)
    result: dict[str, dict[str, list[str]]] = {
        "stages": {s: [] for s in (scenario.stages or sorted(set(stages.values())))},
        "personas": {p.id: [] for p in scenario.persona_list},
        "moments_of_truth": {tp.id: [] for tp in scenario.touchpoints if tp.moment_of_truth},
    }
    for imp in scenario.improvements:
        hit = {e.touchpoint for e in imp.effects}
        for stage in {stages[t] for t in hit if t in stages}:
            result["stages"].setdefault(stage, []).append(imp.id)
        for persona, tps in reachable.items():
            if hit & tps:
                result["personas"][persona].append(imp.id)
        for t in hit:
            if t in result["moments_of_truth"]:
                result["moments_of_truth"][t].append(imp.id)
    return result


def required(
    section: CoverageSection, found: dict[str, dict[str, list[str]]]
) -> dict[str, list[str]]:
    """The names each rule requires to be covered."""
    rules: dict[str, list[str]] = {}
    for key in ("stages", "personas", "moments_of_truth"):
        chosen: Any = getattr(section, key)
        if chosen == "all":
            rules[key] = [name for name, ids in found[key].items() if ids]
        elif chosen:
            rules[key] = list(chosen)
    return rules


def _reachable(ctx: ModelView) -> dict[str, set[str]]:
    ids = ctx.journey.touchpoint_ids
    return {persona: {ids[t] for t in range(len(ids)) if ctx.reachable(q, t)}
            for q, persona in enumerate(ctx.persona_ids)}


def constraints(ctx: ModelView) -> list[tuple[str, object]]:
    import pulp

    scenario = ctx.scenario
    section = scenario.require_extension("coverage", CoverageSection)
    found = covering(scenario, _reachable(ctx))
    rows: list[tuple[str, object]] = []
    label = {"stages": "stage", "personas": "persona", "moments_of_truth": "moment_of_truth"}
    for key, names in required(section, found).items():
        for name in names:
            ids = found[key].get(name, [])
            rows.append((f"{label[key]}[{name}]", pulp.lpSum(ctx.x[i] for i in ids) >= 1))
    if section.max_owner_share is not None:
        share = section.max_owner_share
        owners = sorted({imp.owner for imp in scenario.improvements if imp.owner})
        total = pulp.lpSum(imp.cost * ctx.x[imp.id] for imp in scenario.improvements)
        for owner in owners:
            spent = pulp.lpSum(imp.cost * ctx.x[imp.id] for imp in scenario.improvements
                               if imp.owner == owner)
            cap = share * scenario.budget if scenario.budget is not None else share * total
            rows.append((f"owner_share[{owner}]", spent - cap <= 0))
    return rows


def report_section(plan: Plan, scenario: Scenario) -> ReportSection:
    """Which stages, personas and moments of truth the plan covers, and by what."""
    journey = build_journey(scenario)
    ids = journey.touchpoint_ids
    reachable = {chain.id: {ids[t] for t in chain.reachable_index}
                 for chain in journey.personas}
    found = covering(scenario, reachable)
    chosen = set(plan.selected)
    rows = []
    for key, title in (("stages", "Stage"), ("personas", "Persona"),
                       ("moments_of_truth", "Moment of truth")):
        for name, candidates in found[key].items():
            funded = [i for i in candidates if i in chosen]
            rows.append((title, name, ", ".join(funded) or "not covered"))
    section = scenario.require_extension("coverage", CoverageSection)
    text = "Which parts of the journey the plan's improvements act on."
    if section.max_owner_share is not None:
        text += (f" No owner's improvements may cost more than "
                 f"{100 * section.max_owner_share:g} % of the "
                 f"{'budget' if scenario.budget is not None else 'plan'}.")
    return ReportSection(id="coverage", title="Coverage", text=text,
                         columns=("Kind", "Name", "Covered by"), rows=tuple(rows))
