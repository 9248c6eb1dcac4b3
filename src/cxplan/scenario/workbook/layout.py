"""The scenario workbook's shape: its sheets, their columns, and what each column means.

Reader (`cxplan.scenario.workbook.read`) and writer (`.write`) share this one description,
so that what `cxplan export` writes is what `cxplan import` reads. Every sheet but README
and Lists is an Excel table: row 1 says each column's unit, row 2 holds the headers (the
scenario format's own field names), and the data starts on row 3. Columns are found by
their header, so a client may reorder them; the meanings are those of docs/model.md
("Scenario fields"), which a test keeps them equal to.

A value the format allows as a distribution (docs/model.md, "Uncertain inputs") may be
written in four more columns after it: `F distribution` (the kind), `F low`, `F mode`,
`F high` (the three points of uniform, triangular and pert), and `F group`. Kinds with
other parameters are written whole in the kind's cell: `beta(2, 8)`, `lognormal(50000,
80000)`, `normal(0.2, 0.05)`, `dirichlet(40)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "text", "fraction", "amount", "whole", "bool", "ids", "json"]

FIRST_ROW = 3  # data rows start here: row 1 units, row 2 headers
HEADER_ROW = 2
MAX_ROWS = 100_000  # per sheet: more is refused before the workbook is opened
DISTRIBUTION_PARTS = ("distribution", "low", "mode", "high", "group")
THREE_POINT = ("uniform", "triangular", "pert")  # kinds written in low / mode / high
EVERYONE = ""  # an empty persona cell: the journey's own entry and edges


@dataclass(frozen=True)
class Column:
    """One column: its header (the format's field name), what it holds, its unit and
    meaning (docs/model.md), the sheet whose first column lists its allowed values (a
    dropdown), and whether the value may be a distribution."""

    header: str
    kind: Kind
    unit: str
    meaning: str
    required: bool = False
    choices: str | None = None  # "Touchpoints": a dropdown of that sheet's ids
    uncertain: bool = False

    @property
    def number_format(self) -> str:
        return {"fraction": "0.00%", "amount": "#,##0.00", "whole": "0"}.get(self.kind,
                                                                               "General")


@dataclass(frozen=True)
class Sheet:
    """One table of the workbook."""

    name: str
    purpose: str
    columns: tuple[Column, ...]

    def column(self, header: str) -> Column | None:
        return next((c for c in self.columns if c.header == header), None)


def _id(meaning: str, choices: str | None = None, required: bool = True) -> Column:
    return Column("id", "id", "—", meaning, required, choices)


FRACTION = "probability 0–1"
MONEY = "currency"
TOUCHPOINT_VALUES = (
    Column("failure_probability", "fraction", FRACTION,
           "p_t", uncertain=True),
    Column("impact", "amount", "currency per failure", "c_t, the loss per failure",
           uncertain=True),
    Column("dropout", "fraction", FRACTION,
           "d_t, probability of abandoning after a failure", uncertain=True),
    Column("success_value", "amount", "currency per pass",
           "s_t, the value of a successful pass", uncertain=True),
)

SETTINGS = Sheet("Settings", "the scenario's name, money unit, limits and horizon", (
    Column("setting", "text", "—", "which setting (one row each)", True),
    Column("value", "text", "—", "its value (see the rows' own explanations)"),
))
# setting -> (kind, unit, meaning); the value column's type depends on the row.
SETTING_ROWS: dict[str, tuple[Kind, str, str]] = {
    "name": ("text", "—", "the scenario's title in plans and reports"),
    "currency": ("text", "—", "label of the unit of every amount (USD, kUSD, ...); "
                 "no conversion"),
    "budget": ("amount", MONEY, "money available; with a horizon the total over it (per "
               "period amounts go in the Periods sheet); empty: no limit"),
    "horizon periods": ("whole", "periods", "plan a roadmap over this many periods (1–120); "
                        "empty: one plan, no roadmap"),
    "horizon label": ("text", "—", "what a period is called (quarter, month, ...)"),
    "horizon discount_rate": ("fraction", "per period", "period t's value counts "
                              "1/(1+rate)^(t−1)"),
    "horizon carry_over": ("bool", "TRUE/FALSE", "money a period does not spend stays "
                           "available"),
    "economics value_horizon": ("whole", "periods", "periods a plan's gain is counted for "
                                "(pay-back, return on cost, net_value)"),
    "economics discount_rate": ("fraction", "per period", "discount of later value for "
                                "pay-back and net_value"),
    "objective": ("json", "JSON", "normalization and priorities, as in a YAML scenario "
                  "(docs/plugins.md)"),
    "extensions": ("json", "JSON", "plugins' own sections, as in a YAML scenario"),
}
STAGES = Sheet("Stages", "the journey's stages, in order", (
    Column("stage", "id", "—", "a journey stage (awareness, purchase, ...): reports group by "
           "it", True),
))
TEAMS = Sheet("Teams", "staff capacity per team", (
    Column("team", "id", "—", "a team's name", True),
    Column("capacity", "amount", "people", "staff capacity per team (with a horizon, per "
           "period; per-period amounts go in the Periods sheet)"),
))
PERIODS = Sheet("Periods", "a roadmap's periods: names and amounts per period", (
    Column("period", "whole", "1..N", "the period's number", True),
    Column("name", "text", "—", "the period's name (2027 Q1, ...)"),
    Column("budget", "amount", MONEY, "money available in this period"),
))
TEAM_PREFIX = "team "  # Periods columns: "team it" (people), "customers retail"
CUSTOMERS_PREFIX = "customers "
PERSONAS = Sheet("Personas", "customer segments", (
    _id("the persona's id"),
    Column("name", "text", "—", "display name"),
    Column("customers", "amount", "customers", "N_q: customers going through the journey "
           "(per period, in a roadmap)", uncertain=True),
))
TOUCHPOINTS = Sheet("Touchpoints", "moments where the customer meets the company", (
    _id("the touchpoint's id"),
    Column("name", "text", "—", "display name"),
    Column("stage", "text", "—", "journey stage (awareness, purchase, ...): reports group by "
           "it", choices="Stages"),
    Column("channel", "text", "—", "channel (web, branch, phone, ...): the journey map's "
           "lanes", choices="Lists"),
    *(Column(c.header, c.kind, c.unit, c.meaning, c.header in ("failure_probability",
                                                                 "impact"), None, True)
      for c in TOUCHPOINT_VALUES),
    Column("moment_of_truth", "bool", "TRUE/FALSE", "a moment that weighs most; counted by "
           "moments_of_truth"),
    Column("visible", "bool", "TRUE/FALSE", "front stage (true: the customer sees it) or "
           "back stage (false: an invisible process that can still fail)"),
    Column("emotion", "whole", "−5 to 5", "the customer's feeling at this moment; "
           "descriptive only"),
    Column("owner", "text", "—", "who runs the touchpoint; descriptive"),
))
PERSONA_COLUMN = Column("persona", "text", "—", "empty: every persona (the journey's own); "
                        "a persona's id: that persona's own", choices="Personas")
ENTRY = Sheet("Entry", "where customers start the journey", (
    PERSONA_COLUMN,
    Column("touchpoint", "id", "—", "a touchpoint where customers start", True, "Touchpoints"),
    Column("probability", "fraction", FRACTION, "e_t; the rest never start", True,
           uncertain=True),
))
EDGES = Sheet("Edges", "where customers go after each touchpoint", (
    PERSONA_COLUMN,
    Column("from", "id", "—", "the touchpoint the customer leaves", True, "Touchpoints"),
    Column("to", "id", "—", "the touchpoint the customer goes to; empty with "
           "dirichlet(α): the journey completed after `from`", False, "Touchpoints"),
    Column("probability", "fraction", FRACTION, "P_tu, for customers who carry on after "
           "`from`", False, uncertain=True),
))
OVERRIDES = Sheet("Overrides", "a persona's own numbers for some touchpoints", (
    Column("persona", "id", "—", "the persona", True, "Personas"),
    Column("touchpoint", "id", "—", "the touchpoint", True, "Touchpoints"),
    *(Column(c.header, c.kind, c.unit, c.meaning + " for this persona", False, None, True)
      for c in TOUCHPOINT_VALUES),
))
IMPROVEMENTS = Sheet("Improvements", "the candidate improvements", (
    _id("the improvement's id"),
    Column("name", "text", "—", "display name"),
    Column("cost", "amount", MONEY, "counted against the budget (spread over the periods of "
           "work in a roadmap)", True, uncertain=True),
    Column("owner", "text", "—", "who is accountable for it"),
    Column("mandatory", "bool", "TRUE/FALSE", "must be funded (scheduled within the "
           "horizon)"),
    Column("confidence", "fraction", FRACTION, "chance it delivers its effects; used by "
           "risk_adjusted only"),
    Column("duration", "whole", "periods", "periods of work (roadmaps, `quick_wins`)"),
    Column("earliest", "whole", "period", "first allowed start period; needs a horizon"),
    Column("latest", "whole", "period", "last allowed start period; needs a horizon"),
    Column("requires", "ids", "ids, comma-separated", "must be funded too (finished before "
           "this starts, in a roadmap)"),
    Column("excludes", "ids", "ids, comma-separated", "never funded together with this one"),
))
STAFF = Sheet("Staff", "people per team while an improvement is worked on", (
    Column("improvement", "id", "—", "the improvement", True, "Improvements"),
    Column("team", "id", "—", "a team of the Teams sheet", True, "Teams"),
    Column("people", "amount", "people", "people per team while the improvement is worked "
           "on", True),
))
EFFECTS = Sheet("Effects", "what each improvement changes (one row per touchpoint)", (
    Column("improvement", "id", "—", "the improvement", True, "Improvements"),
    Column("touchpoint", "id", "—", "where the effect acts", True, "Touchpoints"),
    Column("failure_reduction", "fraction", FRACTION, "p is multiplied by (1 − this)",
           uncertain=True),
    Column("impact_reduction", "fraction", FRACTION, "c is multiplied by (1 − this)",
           uncertain=True),
    Column("dropout_reduction", "fraction", FRACTION, "d is multiplied by (1 − this)",
           uncertain=True),
))
CRITERIA = Sheet("Criteria", "what to optimize, and the weight of each criterion", (
    Column("criterion", "id", "—", "a criterion's name (expected_experience, ...)", True),
    Column("weight", "amount", "weight", "its weight (0–1e9)", True),
))

SHEETS: tuple[Sheet, ...] = (SETTINGS, STAGES, TEAMS, PERIODS, PERSONAS, TOUCHPOINTS, ENTRY,
                             EDGES, OVERRIDES, IMPROVEMENTS, STAFF, EFFECTS, CRITERIA)
README = "README"
LISTS = "Lists"  # the values of dropdowns that have no sheet of their own (channels)
DISTRIBUTION_KINDS = ("uniform", "triangular", "pert", "beta", "lognormal", "normal",
                      "dirichlet")


def distribution_headers(field: str) -> tuple[str, ...]:
    """The headers of a distribution written for `field`: kind, low, mode, high, group."""
    return tuple(f"{field} {part}" for part in DISTRIBUTION_PARTS)


def sheet_named(name: str) -> Sheet | None:
    return next((s for s in SHEETS if s.name == name), None)
