"""Check one scenario document: its format version, every value against the models, the
amounts given per period, the references between values, and the plugins' sections.

What plugins contribute arrives as data (the criteria's names, the sections' models), so
this layer knows no plugin manager; the checks that need the Markov chains come after
(`cxplan.core.chains`), and `cxplan.load` puts it all together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from cxplan.errors import ScenarioError
from cxplan.scenario.checks import CrossChecks, check_objective, journey_unsound
from cxplan.scenario.hints import report_validation_error, value_kind
from cxplan.scenario.models import DEFAULT_CRITERIA, PeriodValues, Scenario
from cxplan.scenario.periods import check_schedule_fields, split_period_values
from cxplan.scenario.problems import ProblemLog
from cxplan.scenario.sections import SectionRules, check_extensions
from cxplan.scenario.source import Document
from cxplan.scenario.sums import scale_rounded_sums
from cxplan.scenario.uncertainty import Uncertainty, split_uncertain_values
from cxplan.text import shorten


@dataclass
class CheckedDocument:
    """What checking a document found: the scenario (None if the models refused it), every
    problem so far, the plugins' validated sections, the amounts given per period and the
    uncertain inputs."""

    scenario: Scenario | None
    log: ProblemLog
    extensions: dict[str, BaseModel]
    period_values: PeriodValues
    uncertainty: Uncertainty

    @property
    def journey_sound(self) -> bool:
        """Whether the journey can be analysed (its chains solved) despite the errors."""
        return self.scenario is not None and not journey_unsound(self.log)


def check_document(
    doc: Document, *, criteria: Iterable[str], sections: SectionRules | None = None,
    unavailable_criteria: Mapping[str, str] | None = None,
) -> CheckedDocument:
    """Every problem of `doc` that the scenario layer can see, at once.

    `criteria` are the known criterion names, `sections` what the plugins say about the
    scenario's `extensions:` (`SectionRules`), `unavailable_criteria` why a criterion
    that is not known cannot be used (its plugin is disabled). Raises `ScenarioError` at
    once only when the document is not a scenario at all (not a mapping, another format
    version).
    """
    log = ProblemLog(doc)
    if not isinstance(doc.data, dict):
        log.error((), "a scenario is a mapping of keys (cxplan: 1, touchpoints, ...), "
                      f"not {value_kind(doc.data)}")
        raise ScenarioError(log.problems)
    data: dict[str, Any] = doc.data
    version = data.get("cxplan")
    if isinstance(version, int) and not isinstance(version, bool) and version != 1:
        # Another format version: its other keys cannot be judged by version 1's rules.
        log.error(("cxplan",), f"format version {version} is not supported "
                  "(this cxplan reads version 1)",
                  "use a cxplan release that reads this version, or write the "
                  "scenario in format version 1 (`cxplan: 1`)")
        raise ScenarioError(log.problems)
    if "cxplan" in data and not (type(version) is int and version == 1):
        # Checked here, not by the model: `Literal[1]` also accepts 1.0 and true.
        log.error(("cxplan",), f"unsupported format version {shorten(version)}",
                  "this cxplan reads format version 1: write `cxplan: 1`")
    # Amounts per period (with a horizon) are checked here; the models see one number.
    flat, period_values = split_period_values(data, log.error)
    # Distributions are checked here too; the models see their means.
    flat, uncertainty = split_uncertain_values(flat, log.error, log.warning)
    flat = scale_rounded_sums(flat, log.warning)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(flat)
        scenario.adopt(periods=period_values)  # the chain checks read the periods' amounts
    except ValidationError as exc:
        report_validation_error(log, exc)
    checks = CrossChecks(log)
    checks.cross_check(data)
    check_schedule_fields(data, log.error, log.warning)
    rules = sections or SectionRules()
    checks.criteria(data, set(criteria), unavailable_criteria or {}, rules.disabled)
    check_objective(data, log.error)
    used = data.get("criteria", DEFAULT_CRITERIA)
    extensions = check_extensions(data, rules, log.error,
                                  used if isinstance(used, dict) else {})
    return CheckedDocument(scenario, log, extensions, period_values, uncertainty)
