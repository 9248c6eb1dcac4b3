"""The NPS model: from per-touchpoint survey data to the expected NPS of a plan.

Survey data, per touchpoint t, from customers who answered "How likely are you to
recommend us?" (0–10) after going through t, split by whether they had a problem
there: promoters (9–10), passives (7–8) and detractors (0–6), as counts or shares.

- net_t(failed), net_t(passed): promoters share − detractors share of each group.
- A visit to t is a failure with probability p'_t (the journey model of cxplan). Its
  expected net score is net_t(passed) − p'_t · (net_t(passed) − net_t(failed)): each
  expected failure moves (detractors_failed − detractors_passed) of a customer into
  the detractors, and likewise out of the promoters.
- Over all surveyed touchpoints and personas, with N_q customers, visits v and
  failures F = v p':

      net(x)    = Σ_q N_q Σ_t [ v_qt net_t(passed) − F_qt (net_t(passed) − net_t(failed)) ]
      visits(x) = Σ_q N_q Σ_t v_qt
      NPS(x)    = 100 · net(x) / visits(x)         (reported: before and after the plan)

- The criterion `nps` is the NPS change measured on the baseline's volume of
  surveyed experiences:

      nps(x) = 100 · (net(x) − net(∅)) / visits(∅)        [NPS points]

  It is linear in the model's visits and failures, so the optimum is exact. When a
  plan does not change how many customers reach the surveyed touchpoints, it is
  exactly NPS(x) − NPS(∅); when the plan keeps more customers in the journey, it also
  counts their extra experiences (which the ratio NPS(x) would dilute).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

from cxplan.plugin_api import (
    Criterion,
    EvaluationContext,
    ReportSection,
    build_journey,
    did_you_mean,
)

if TYPE_CHECKING:
    import pulp

    from cxplan.plugin_api import Evaluation, ModelView, Plan, Scenario

Count = Annotated[float, Field(ge=0.0, le=1e12)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Responses(_Strict):
    """Answers of one group of respondents, as counts or shares."""

    promoters: Count  # scored 9–10
    passives: Count  # scored 7–8
    detractors: Count  # scored 0–6

    @model_validator(mode="after")
    def _some_answers(self) -> Responses:
        if self.total <= 0:
            raise ValueError("no answers: promoters, passives and detractors are all 0")
        return self

    @property
    def total(self) -> float:
        return self.promoters + self.passives + self.detractors

    @property
    def net(self) -> float:
        """Promoters share − detractors share, in [−1, 1]."""
        return (self.promoters - self.detractors) / self.total

    @property
    def detractor_share(self) -> float:
        return self.detractors / self.total


class TouchpointSurvey(_Strict):
    failed: Responses  # respondents who had a problem at this touchpoint
    passed: Responses  # respondents who went through it without one


def _known_touchpoint(value: str, info: ValidationInfo) -> str:
    data = (info.context or {}).get("scenario") or {}
    touchpoints = data.get("touchpoints") if isinstance(data, dict) else None
    if isinstance(touchpoints, list):
        known = [t.get("id") for t in touchpoints if isinstance(t, dict)]
        if value not in known:
            raise ValueError(f"unknown touchpoint '{value}'{did_you_mean(value, known)}")
    return value


class NpsSection(_Strict):
    """`extensions: {nps: ...}`: survey answers per touchpoint id."""

    touchpoints: dict[Annotated[str, AfterValidator(_known_touchpoint)], TouchpointSurvey] = \
        Field(min_length=1)


def section(scenario: Scenario) -> NpsSection:
    """The scenario's survey data (the criterion declares that it needs it, so a scenario
    naming `nps` without it never gets this far: `cxplan validate` says what is missing)."""
    return scenario.require_extension("nps", NpsSection)


def _surveyed(scenario: Scenario) -> list[tuple[int, TouchpointSurvey]]:
    index = {tp.id: i for i, tp in enumerate(scenario.touchpoints)}
    return [(index[t], survey) for t, survey in section(scenario).touchpoints.items()]


def net_and_visits(scenario: Scenario, evaluation: Evaluation) -> tuple[float, float]:
    """(net(x), visits(x)) of the module docstring, for an exact evaluation."""
    net = visits = 0.0
    for outcome in evaluation.personas:
        for t, survey in _surveyed(scenario):
            v, f = float(outcome.visits[t]), float(outcome.failures[t])
            drop = survey.passed.net - survey.failed.net
            net += outcome.customers * (v * survey.passed.net - f * drop)
            visits += outcome.customers * v
    return net, visits


class NpsCriterion(Criterion):
    name = "nps"
    description = "Expected NPS change (points), from per-touchpoint survey answers of " \
                  "customers with and without a failure there (cxplan-nps)."
    unit = "NPS points"
    requires_section = "nps"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        import pulp

        base_net, base_visits = net_and_visits(ctx.scenario, ctx.baseline)
        if base_visits <= 0:
            return pulp.LpAffineExpression()
        terms = []
        for q, chain in enumerate(ctx.journey.personas):
            for t, survey in _surveyed(ctx.scenario):
                drop = survey.passed.net - survey.failed.net
                terms.append(chain.customers * (survey.passed.net * ctx.visits(q, t)
                                                - drop * ctx.failures(q, t)))
        return (100.0 / base_visits) * (pulp.lpSum(terms) - base_net)

    def evaluate(self, ctx: EvaluationContext) -> float:
        base_net, base_visits = net_and_visits(ctx.scenario, ctx.baseline)
        if base_visits <= 0:
            return 0.0
        net, _ = net_and_visits(ctx.scenario, ctx.evaluation)
        return 100.0 * (net - base_net) / base_visits

    def magnitude(self, ctx: EvaluationContext) -> float:
        return 100.0


def nps(scenario: Scenario, evaluation: Evaluation) -> float | None:
    """NPS(x) in points, or None when no customer reaches a surveyed touchpoint."""
    net, visits = net_and_visits(scenario, evaluation)
    return 100.0 * net / visits if visits > 0 else None


def report_section(plan: Plan, scenario: Scenario) -> ReportSection:
    """Before/after NPS overall and per surveyed touchpoint."""
    if plan.baseline is not None and plan.evaluation is not None:
        before, after = plan.baseline, plan.evaluation
    else:
        journey = build_journey(scenario)
        before, after = journey.evaluate(()), journey.evaluate(plan.selected)
    rows = []
    for t, survey in _surveyed(scenario):
        rows.append(_touchpoint_row(scenario.touchpoints[t].label, t, survey, before, after))
    start, end = nps(scenario, before), nps(scenario, after)
    data: dict[str, Any] = {
        "before": start, "after": end,
        "change": (end - start) if start is not None and end is not None else None,
        "rows": rows,
    }
    text = ("Expected Net Promoter Score over the surveyed touchpoints, from the survey "
            "answers of customers with and without a problem at each touchpoint: "
            f"{_points(start)} before the plan, {_points(end)} after it.")
    return ReportSection(
        id="nps", title="Net Promoter Score", text=text, template="nps",
        columns=("Touchpoint", "NPS before", "NPS after", "Detractors before",
                 "Detractors after"),
        rows=tuple((r["touchpoint"], _points(r["nps_before"]), _points(r["nps_after"]),
                    _share(r["detractors_before"]), _share(r["detractors_after"]))
                   for r in rows),
        data=data)


def _touchpoint_row(label: str, t: int, survey: TouchpointSurvey, before: Evaluation,
                    after: Evaluation) -> dict[str, Any]:
    row: dict[str, Any] = {"touchpoint": label}
    for key, evaluation in (("before", before), ("after", after)):
        visits = sum(p.customers * float(p.visits[t]) for p in evaluation.personas)
        failures = sum(p.customers * float(p.failures[t]) for p in evaluation.personas)
        rate = failures / visits if visits > 0 else None
        if rate is None:
            row[f"nps_{key}"] = row[f"detractors_{key}"] = None
            continue
        row[f"nps_{key}"] = 100.0 * (survey.passed.net - rate * (survey.passed.net
                                                                  - survey.failed.net))
        row[f"detractors_{key}"] = (survey.passed.detractor_share + rate
                                    * (survey.failed.detractor_share
                                       - survey.passed.detractor_share))
    return row


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"
