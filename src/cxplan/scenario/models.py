"""Scenario format version 1 (docs/model.md): pydantic models, field ranges.

These models check each value on its own (types, ranges, unknown keys). Checks
that relate values to each other (references, sums, cycles) live in
`cxplan.scenario.checks`; `cxplan.scenario.validate` turns everything into located
`Problem`s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import PurePath
from typing import Annotated, Any, Literal, TypeVar, overload

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from cxplan.errors import Problem
from cxplan.scenario.distributions import DISTRIBUTION_KEYS
from cxplan.scenario.uncertainty import COMPLETED, Uncertainty, with_values

Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=1e15)]
Weight = Annotated[float, Field(ge=0.0, le=1e9)]
SectionT = TypeVar("SectionT", bound=BaseModel)  # a plugin's section model


class Strict(BaseModel):
    """The base of every scenario model: unknown keys, wrong types, NaN and infinity are
    refused, and a validated value cannot be changed."""

    # Fields are read only under the names the file format uses: an edge is written with
    # `from`/`to`, and its Python names `source`/`target` are unknown keys in a file.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True,
                              use_attribute_docstrings=True)


class Touchpoint(Strict):
    """A moment where the customer meets the company; it fails with some probability."""

    id: Id
    """The touchpoint's id: unique among touchpoints; what edges, effects and personas refer
    to."""
    name: str | None = None
    """Display name (default: the id)."""
    stage: str | None = None
    """Journey stage (awareness, purchase, ...); one of `stages` when those are given. Reports
    group by it."""
    channel: str | None = None
    """Channel (web, branch, phone, ...): the journey map's lanes."""
    failure_probability: Probability
    """p: probability (0-1) that a visit here fails."""
    impact: NonNegative
    """c: loss per failure, in the scenario's currency."""
    dropout: Probability = 0.0
    """d: probability (0-1) that a customer abandons the journey after a failure here. Default
    0."""
    success_value: NonNegative = 0.0
    """s: value of a successful pass, in currency per pass. Default 0."""
    moment_of_truth: bool = False
    """A moment that weighs most; counted by the `moments_of_truth` criterion."""
    visible: bool = True
    """Front stage (true: the customer sees it) or back stage (false: an invisible process that
    can still fail)."""
    emotion: Annotated[int, Field(ge=-5, le=5)] | None = None
    """The customer's feeling here, -5 to 5; descriptive only (not used by the optimizer)."""
    owner: str | None = None
    """Who runs the touchpoint; descriptive."""

    @property
    def label(self) -> str:
        return self.name or self.id


class TouchpointOverride(Strict):
    """Per-persona replacement of a touchpoint's model parameters."""

    failure_probability: Probability | None = None
    """p for this persona (default: the touchpoint's)."""
    impact: NonNegative | None = None
    """c, loss per failure, for this persona (default: the touchpoint's)."""
    dropout: Probability | None = None
    """d, probability of abandoning after a failure, for this persona (default: the
    touchpoint's)."""
    success_value: NonNegative | None = None
    """s, value of a successful pass, for this persona (default: the touchpoint's)."""


class Edge(Strict):
    """After `source`, the customer goes on to `target` with `probability`."""

    source: Id = Field(alias="from")
    """The touchpoint the customer leaves."""
    target: Id = Field(alias="to")
    """The touchpoint the customer goes to (may be the same one: a repeat)."""
    probability: Probability
    """P: probability (0-1) of this step for customers who carry on after `from`; what the
    out-edges of a touchpoint leave to 1 completes the journey."""


class JourneyGraph(Strict):
    """The journey's shape: where customers start, and where they go after each touchpoint
    (the evaluator of a scenario's journeys is `cxplan.core.journey.Journey`)."""

    model_config = ConfigDict(title="Journey")  # its name in the scenario format
    entry: dict[str, Probability]
    """Touchpoint -> probability that a customer starts there (sum at most 1; the rest never
    start)."""
    edges: list[Edge] = Field(default_factory=list)
    """Where customers go after each touchpoint; out-probabilities per touchpoint sum to at
    most 1, the remainder completes the journey."""


class Persona(Strict):
    """A customer segment: its own weight and, optionally, its own journey numbers."""

    id: Id
    """The persona's id, unique among personas."""
    name: str | None = None
    """Display name (default: the id)."""
    customers: NonNegative = 1.0
    """N: customers of this persona going through the journey (per period in a roadmap).
    Default 1."""
    entry: dict[str, Probability] | None = None
    """Replaces the journey's entry probabilities for this persona."""
    edges: list[Edge] | None = None
    """Replaces all outgoing edges of every touchpoint named as `from` here, for this persona."""
    touchpoints: dict[str, TouchpointOverride] | None = None
    """This persona's own numbers for some touchpoints (touchpoint id -> override)."""

    @property
    def label(self) -> str:
        return self.name or self.id


class Effect(Strict):
    """What an improvement does to one touchpoint (each reduction multiplies)."""

    touchpoint: Id
    """The touchpoint the effect acts on."""
    failure_reduction: Probability = 0.0
    """Share (0-1) taken off the failure probability: p becomes p x (1 - this)."""
    impact_reduction: Probability = 0.0
    """Share (0-1) taken off the loss per failure: c becomes c x (1 - this)."""
    dropout_reduction: Probability = 0.0
    """Share (0-1) taken off the dropout: d becomes d x (1 - this)."""


class Improvement(Strict):
    """A candidate change that costs money and staff and reduces failures, impact or dropout."""

    id: Id
    """The improvement's id, unique among improvements."""
    name: str | None = None
    """Display name (default: the id)."""
    cost: NonNegative
    """One-off cost in currency, counted against the budget (spread over its periods of work in
    a roadmap)."""
    staff: dict[str, NonNegative] = Field(default_factory=dict)
    """People per team while it is worked on (team -> people), counted against `teams`."""
    effects: list[Effect] = Field(min_length=1)
    """What it changes, one effect per touchpoint."""
    requires: list[Id] = Field(default_factory=list)
    """Improvements that must be funded too (finished before this one starts, in a roadmap)."""
    excludes: list[Id] = Field(default_factory=list)
    """Improvements never funded together with this one."""
    mandatory: bool = False
    """Must be funded (scheduled within the horizon, in a roadmap)."""
    owner: str | None = None
    """Who is accountable for it."""
    confidence: Probability | None = None
    """Chance (0-1) that it delivers its effects; used by the `risk_adjusted` criterion only
    (default: counts as 1)."""
    duration: Annotated[int, Field(ge=1, le=1000)] = 1
    """Periods of work (roadmaps, `quick_wins`). Default 1."""
    earliest: Annotated[int, Field(ge=1, le=1000)] | None = None  # first allowed start period
    """First allowed start period (needs a horizon)."""
    latest: Annotated[int, Field(ge=1, le=1000)] | None = None  # last allowed start period
    """Last allowed start period (needs a horizon)."""

    @property
    def label(self) -> str:
        return self.name or self.id


class PriorityLevel(Strict):
    """One level of lexicographic priorities: its criteria (blended by their weights) may
    lose at most `tolerance` × |their optimum| when later levels are optimized."""

    criteria: list[Id] = Field(min_length=1)
    """The criteria of this level, blended by their weights."""
    tolerance: Probability = 0.0
    """Share (0-1) of this level's optimum that later levels may take."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `- expected_experience`, `- [a, b]` and `criteria: expected_experience` are short
        # for `- {criteria: [...]}`.
        if isinstance(value, str):
            return {"criteria": [value]}
        if isinstance(value, list):
            return {"criteria": value}
        if isinstance(value, dict) and isinstance(value.get("criteria"), str):
            return {**value, "criteria": [value["criteria"]]}
        return value


class Objective(Strict):
    """How the weighted criteria combine (see docs/plugins.md, "Normalization and priorities")."""

    normalize: bool = False
    """Divide each criterion by its ideal (best feasible) value before weighting."""
    priorities: list[PriorityLevel] | None = Field(default=None, min_length=1)
    """Lexicographic levels of criteria, most important first."""


def _terminal_value(value: Any) -> Any:
    """One message for anything but a whole number of periods or "perpetuity" (the union's
    branches would each give one)."""
    if value is None or value == "perpetuity" or (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1200):
        return value
    raise ValueError(f"the value after the horizon is a whole number of periods (0 to 1200) "
                     f"or perpetuity, not {value!r}")


class Horizon(Strict):
    """A roadmap over `periods` periods (quarters, months...): when to start each
    improvement, not only which (see `cxplan.optimizer.roadmap`)."""

    periods: Annotated[int, Field(ge=1, le=120)]
    """N: the number of periods of the roadmap (1-120)."""
    label: Annotated[str, Field(min_length=1, max_length=40)] = "period"
    """What a period is called (\"quarter\": periods are then \"quarter 1\", ...)."""
    names: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = None
    """Each period's own name (\"2027 Q1\", ...), one per period, all different."""
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # per period
    """Per period: period t's value counts 1 / (1 + rate)^(t - 1). Default 0."""
    carry_over: bool = False  # unspent money of a per-period budget moves to later periods
    """Money a period does not spend stays available in later periods."""
    terminal_value: Annotated[
        Annotated[int, Field(ge=0, le=1200)] | Literal["perpetuity"] | None,
        BeforeValidator(_terminal_value)] = None
    """Value after the last period: K more periods of the roadmap's end state (everything
    finished by period N, with period N's customers), discounted like periods N+1 ... N+K,
    or "perpetuity" (for ever; needs a discount rate above 0). Default: not counted."""

    def period_name(self, period: int) -> str:
        """The name of period `period` (1-based): `names[period-1]`, else "quarter 3"."""
        if self.names:
            return self.names[period - 1]
        return f"{self.label} {period}"

    def discount(self, period: int) -> float:
        """The weight of period `period`'s value: 1 / (1 + rate)^(period − 1); past the last
        period, the weight of all the value after the horizon (`after_horizon`)."""
        if period > self.periods:
            return self.after_horizon()
        return float((1.0 + self.discount_rate) ** -(period - 1))

    def after_horizon(self) -> float:
        """How many (discounted) periods of the end state's value count after the horizon:
        Σ_{k=1..K} (1 + r)^−(N+k−1) for K periods, (1 + r)^−(N−1) / r for a perpetuity,
        0 without a terminal value."""
        n, rate, value = self.periods, self.discount_rate, self.terminal_value
        if value is None or value == 0:
            return 0.0
        if value == "perpetuity":
            if rate <= 0:
                raise ValueError("a perpetuity needs a discount rate above 0")
            return float((1.0 + rate) ** -(n - 1) / rate)
        return float(sum((1.0 + rate) ** -(n + k - 1) for k in range(1, value + 1)))

    @property
    def valued(self) -> range:
        """The periods whose value counts: 1..N, and N+1 standing for all the value after
        the horizon when a terminal value is counted."""
        return range(1, self.periods + 1 + (self.after_horizon() > 0))


class Economics(Strict):
    """How long a plan's gain lasts and how later value is weighed: for pay-back, return
    on cost and the `net_value` criterion (docs/model.md, "Pay-back")."""

    value_horizon: Annotated[int, Field(ge=1, le=1200)]  # periods the gain is counted for
    """H: for how many periods a plan's gain is counted (pay-back, return on cost,
    `net_value`)."""
    discount_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # per period
    """r, per period: period k's value counts 1 / (1 + r)^(k - 1). Default 0."""

    def annuity(self) -> float:
        """A = Σ_{k=1..H} (1 + r)^−(k−1): what a gain of 1 a period is worth over the value
        horizon, the first period undiscounted (as roadmap periods are)."""
        return float(sum((1.0 + self.discount_rate) ** -k for k in range(self.value_horizon)))

    def payback_periods(self, gain: float, cost: float) -> float | None:
        """The first period by whose end the discounted gains repay `cost` (0 when it costs
        nothing), or None when they never do within the value horizon."""
        if cost <= 0:
            return 0.0
        repaid = 0.0
        for k in range(self.value_horizon):
            repaid += gain * (1.0 + self.discount_rate) ** -k
            if repaid >= cost * (1.0 - 1e-12):
                return float(k + 1)
        return None


@dataclass(frozen=True)
class PeriodValues:
    """Amounts a roadmap scenario gives per period (lists in the file). The scenario's own
    fields hold one number for code that sees a single period: the budget's total, a team's
    largest capacity, a persona's average customers per period."""

    budget: tuple[float, ...] | None = None
    capacity: dict[str, tuple[float, ...]] = field(default_factory=dict)
    customers: dict[str, tuple[float, ...]] = field(default_factory=dict)  # by persona id


DEFAULT_PERSONA_ID = "all"
DEFAULT_CRITERIA = {"expected_experience": 1.0}  # a scenario without `criteria:`
_CACHED = ("improvement_ids", "_improvements_by_id")  # cached_property names on Scenario


class Scenario(Strict):
    """A validated scenario (format version 1). Build it with `cxplan.load_scenario`."""

    cxplan: Literal[1]
    """Format version: 1."""
    name: str | None = None
    """The scenario's title in plans and reports (default: the file's name)."""
    currency: str | None = None
    """Label of the unit of every amount (USD, kUSD, ...); nothing is converted."""
    stages: list[Id] | None = None
    """Ordered journey stages; when given, every touchpoint's `stage` must be one of them."""
    budget: NonNegative | None = None
    """Money available (default: no limit)."""
    teams: dict[str, NonNegative] = Field(default_factory=dict)
    """Staff capacity per team, in people."""
    personas: list[Persona] | None = None
    """Customer segments (default: one persona `all` with 1 customer)."""
    touchpoints: list[Touchpoint] = Field(min_length=1)
    """The touchpoints (at least one)."""
    journey: JourneyGraph
    """Where customers start and where they go after each touchpoint."""
    improvements: list[Improvement] = Field(default_factory=list)
    """The candidate improvements."""
    criteria: dict[str, Weight] = Field(default_factory=lambda: dict(DEFAULT_CRITERIA))
    """What to optimize: criterion -> weight (default: expected_experience 1)."""
    objective: Objective | None = None  # optional: normalization, lexicographic priorities
    """How the weighted criteria combine: normalization, lexicographic priorities."""
    extensions: dict[str, Any] = Field(default_factory=dict)  # plugin sections, by name
    """Plugins' own sections (section -> data), each validated by its plugin."""
    horizon: Horizon | None = None  # optional: plan a roadmap over periods
    """Plan a roadmap over periods: when to start each improvement, not only which."""
    economics: Economics | None = None  # optional: pay-back, return on cost, net_value
    """How long a gain counts and at what discount: pay-back, return on cost, `net_value`."""

    _source: str = PrivateAttr(default="<scenario>")
    _warnings: list[Problem] = PrivateAttr(default_factory=list)
    _extensions: dict[str, Any] = PrivateAttr(default_factory=dict)
    _periods: PeriodValues = PrivateAttr(default_factory=PeriodValues)
    _uncertainty: Uncertainty = PrivateAttr(default_factory=Uncertainty)

    @property
    def title(self) -> str:
        """The scenario's name, else its file's name without extension."""
        if self.name:
            return self.name
        if self._source.startswith("<"):
            return self._source
        return PurePath(self._source).stem or self._source

    @property
    def read_from_file(self) -> bool:
        """Whether the scenario was read from a file (else given as a dict or as text, and
        its source is "<dict>" or "<string>")."""
        return not (self._source.startswith("<") and self._source.endswith(">"))

    @property
    def source(self) -> str:
        """Where the scenario was read from (a file name, or '<dict>')."""
        return self._source

    @property
    def warnings(self) -> list[Problem]:
        """Things that are allowed but probably not meant (unreachable touchpoints, ...)."""
        return list(self._warnings)

    @property
    def period_values(self) -> PeriodValues:
        """The amounts given per period (with a horizon); see `PeriodValues`."""
        return self._periods

    @property
    def uncertainty(self) -> Uncertainty:
        """The inputs the file gives as distributions (empty: plain numbers); the scenario's
        own fields hold their means (`cxplan.scenario.uncertainty`)."""
        return self._uncertainty

    def drawn(self, values: Mapping[tuple[str | int, ...], float]) -> Scenario:
        """The concrete scenario of one draw: the values at the given locations (as in
        `uncertainty.locations`) replaced, everything else shared with this one."""
        copy: Scenario = with_values(self, values)
        copy.adopt(uncertainty=Uncertainty())
        return copy

    def period_budgets(self) -> list[float] | None:
        """The budget of each period, or None when the budget (if any) is one total."""
        return list(self._periods.budget) if self._periods.budget is not None else None

    def period_capacity(self, team: str) -> list[float]:
        """A team's capacity in each period of the horizon."""
        periods = self.horizon.periods if self.horizon else 1
        given = self._periods.capacity.get(team)
        return list(given) if given is not None else [self.teams[team]] * periods

    def period_customers(self, persona: Persona) -> list[float]:
        """A persona's customers in each period of the horizon."""
        periods = self.horizon.periods if self.horizon else 1
        given = self._periods.customers.get(persona.id)
        return list(given) if given is not None else [persona.customers] * periods

    @overload
    def extension(self, name: str) -> Any: ...

    @overload
    def extension(self, name: str, model: type[SectionT]) -> SectionT | None: ...

    def extension(self, name: str, model: type[SectionT] | None = None) -> Any:
        """A plugin's validated scenario section (`extensions.<name>`), or None if absent.

        With `model` (the pydantic class the plugin declared), the result is typed as that
        class: a section validated by another class is a TypeError (two plugins disagree
        on what the section is)."""
        found = self._extensions.get(name)
        if model is not None and found is not None and not isinstance(found, model):
            raise TypeError(f"scenario section {name!r} is a {type(found).__name__}, not a "
                            f"{model.__name__}")
        return found

    def require_extension(self, name: str, model: type[SectionT]) -> SectionT:
        """`extension(name, model)` for a section that must be there (declare it with
        `requires_section` so that `cxplan validate` reports its absence): LookupError if
        it is absent."""
        found = self.extension(name, model)
        if found is None:
            raise LookupError(f"the scenario has no section 'extensions.{name}'")
        return found

    @property
    def persona_list(self) -> list[Persona]:
        """The personas, or the default single persona 'all' with 1 customer."""
        if self.personas:
            return list(self.personas)
        return [Persona(id=DEFAULT_PERSONA_ID)]

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Scenario:
        """A copy (with `update`'s fields replaced) that keeps what loading recorded (source,
        warnings, sections, per-period amounts); derived lookups cached on this object are
        not carried over."""
        copy = super().model_copy(update=update, deep=deep)
        for name in _CACHED:
            copy.__dict__.pop(name, None)
        return copy

    @cached_property
    def improvement_ids(self) -> list[str]:
        return [imp.id for imp in self.improvements]

    @cached_property
    def _improvements_by_id(self) -> dict[str, Improvement]:
        return {imp.id: imp for imp in self.improvements}

    def improvement(self, improvement_id: str) -> Improvement:
        return self._improvements_by_id[improvement_id]

    def adopt(
        self, *, source: str | None = None, warnings: Sequence[Problem] | None = None,
        extensions: Mapping[str, Any] | None = None, periods: PeriodValues | None = None,
        uncertainty: Uncertainty | None = None,
    ) -> None:
        """Record what loading found out about this scenario: the file it was read from,
        its warnings, the plugins' validated sections, the amounts given per period and
        the uncertain inputs (`cxplan.load` calls it; a copy keeps them)."""
        if source is not None:
            self._source = source
        if warnings is not None:
            self._warnings = list(warnings)
        if extensions is not None:
            self._extensions = dict(extensions)
        if periods is not None:
            self._periods = periods
        if uncertainty is not None:
            self._uncertainty = uncertainty

    def with_limits(
        self, budget: float | None = None, teams: dict[str, float] | None = None
    ) -> Scenario:
        """A copy with the budget and/or some team capacities replaced (what-if overrides)."""
        update: dict[str, object] = {}
        periods = self._periods
        if budget is not None:
            # Like `budget: N` in the file: with a horizon, N is the total over it.
            update["budget"] = budget
            periods = replace(periods, budget=None)
        if teams:
            update["teams"] = {**self.teams, **teams}
            periods = replace(periods, capacity={
                k: v for k, v in periods.capacity.items() if k not in teams})
        copy = self.model_copy(update=update)
        copy.adopt(periods=periods)
        return copy


def _format_keys() -> frozenset[str]:
    models = (Scenario, Touchpoint, TouchpointOverride, Edge, JourneyGraph, Persona, Effect,
              Improvement, PriorityLevel, Objective, Horizon, Economics)
    keys = {key for model in models for name, info in model.model_fields.items()
            for key in (name, info.alias) if key}
    return frozenset(keys | {"extends", "remove", COMPLETED} | DISTRIBUTION_KEYS)


# Every key the scenario format itself defines (the rest are ids, team names ... : data).
FORMAT_KEYS = _format_keys()
