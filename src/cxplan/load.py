"""Loading a scenario: read it, merge its variants, check everything at once, let plugins
check their sections and transform it.

    >>> from cxplan import load_scenario
    >>> scenario = load_scenario("scenarios/restaurant.yaml")

Every problem is reported together (`ScenarioError.problems`), each with its file, place,
line and a hint; warnings stay on `Scenario.warnings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from cxplan.core.chains import check_chains
from cxplan.errors import ScenarioError
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario
from cxplan.scenario.periods import kept_after_transform
from cxplan.scenario.problems import grouped_warnings
from cxplan.scenario.reader import read_scenario_file
from cxplan.scenario.sections import SectionNeed, SectionRules
from cxplan.scenario.source import Document, parse_text
from cxplan.scenario.uncertainty import kept_after_transform as uncertainty_kept
from cxplan.scenario.validate import check_document
from cxplan.scenario.variants import resolve_extends


def load_scenario(
    source: str | Path | Mapping[str, Any],
    *,
    name: str | None = None,
    criteria: Iterable[str] | None = None,
    plugins: CxplanPlugins | None = None,
    allow_paths: Sequence[str | Path] = (),
) -> Scenario:
    """Read, validate and return a scenario.

    `source` is a path to a YAML/JSON file or an already parsed mapping. `criteria`
    is the set of known criterion names (default: those of `plugins`). `plugins`
    (default: the installed ones) also validate their `extensions:` sections and may
    transform the loaded scenario. `extends` reads only files in the scenario's own
    folder and below (for a mapping: the working directory), or in `allow_paths`.
    Raises `ScenarioError` listing every problem; warnings are on `Scenario.warnings`.
    """
    if isinstance(source, Mapping):
        doc = resolve_extends(Document(name=name or "<dict>", data=dict(source)),
                              allowed=allow_paths)
    else:
        doc = resolve_extends(read_scenario_file(source, name=name), source, allowed=allow_paths)
    return validate_document(doc, criteria=criteria, plugins=plugins)


def load_scenario_text(text: str, name: str = "<string>", *,
                       allow_paths: Sequence[str | Path] = ()) -> Scenario:
    """Validate a scenario given as YAML or JSON text. Its `extends` reads only files
    below the working directory, or in `allow_paths`."""
    return validate_document(resolve_extends(parse_text(text, name), allowed=allow_paths))


def validate_document(
    doc: Document, *, criteria: Iterable[str] | None = None,
    plugins: CxplanPlugins | None = None, transform: bool = True,
) -> Scenario:
    """The scenario of a read (and merged) document, checked in full: its values and
    references (`cxplan.scenario.validate`), the plugins' sections (and those their
    criteria and constraints need), and, when the journey allows, its Markov chains
    (`cxplan.core.chains`). Then plugins may transform it."""
    plugins = plugins or get_plugin_manager()
    known = plugins.criteria_names() if criteria is None else criteria
    checked = check_document(doc, criteria=known, sections=section_rules(plugins),
                             unavailable_criteria=plugins.unavailable_criteria())
    if checked.scenario is not None and checked.journey_sound:
        check_chains(checked.scenario, checked.log)
    problems = grouped_warnings(checked.log.in_file_order())
    if checked.log.errors():
        raise ScenarioError(problems)
    scenario = checked.scenario
    assert scenario is not None
    scenario.adopt(source=doc.name, warnings=[p for p in problems if p.severity != "error"],
                   extensions=checked.extensions, periods=checked.period_values,
                   uncertainty=checked.uncertainty)
    if transform:
        scenario = plugins.transform(scenario, partial(_revalidate, plugins=plugins))
    return scenario


def section_rules(plugins: CxplanPlugins) -> SectionRules:
    """What the plugins say about a scenario's `extensions:` (`SectionRules`)."""
    return SectionRules(plugins.scenario_sections(), plugins.section_owners(),
                        tuple(SectionNeed(*need) for need in plugins.section_needs()),
                        tuple(plugins.disabled_plugins()), plugins.section_guard)


def _revalidate(scenario: Scenario, *, plugins: CxplanPlugins) -> Scenario:
    """Validate a scenario a plugin transformed, as if it had been written in a file."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    checked = validate_document(Document(name=scenario.source, data=data), plugins=plugins,
                                transform=False)
    # The user's file's warnings, with their lines. The dump holds one number in place of
    # each per-period list: keep the lists the plugin left alone.
    checked.adopt(warnings=scenario.warnings,
                  periods=kept_after_transform(scenario.period_values, checked),
                  uncertainty=uncertainty_kept(scenario.uncertainty, data))
    return checked
