"""Scenarios as Excel workbooks, both ways (`cxplan export`, `cxplan import`, and every
command reading an `.xlsx` scenario directly).

    >>> from cxplan.scenario.workbook import export_workbook, workbook_as_yaml
    >>> export_workbook(load_scenario("scenarios/restaurant.yaml"), "restaurant.xlsx")
    >>> text = workbook_as_yaml("restaurant.xlsx")    # the same scenario, as YAML

`layout` describes the sheets, `tables` maps scenario data to rows and back, `package`
checks the zip package before anything is parsed, `read` and `write` do the rest with
openpyxl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cxplan.files import atomic_path
from cxplan.scenario.canonical import scenario_data
from cxplan.scenario.models import Scenario
from cxplan.scenario.workbook.write import workbook_bytes

YAML_HEADER = ("# A cxplan scenario (format version 1; docs/model.md), imported from {source}.\n"
               "# `cxplan export THIS --xlsx FILE` writes it as a workbook again.\n")


def export_workbook(scenario: Scenario, target: str | Path) -> Path:
    """Write `scenario` as a workbook a client can fill in, atomically; its distributions
    stay distributions and its per-period amounts per period."""
    content = workbook_bytes(scenario_data(scenario))
    with atomic_path(target) as staged:
        staged.write_bytes(content)
    return Path(target)


def scenario_yaml(data: dict[str, Any], source: str) -> str:
    """Scenario data as a YAML scenario file, with a comment saying where it came from."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return YAML_HEADER.format(source=Path(source).name) + body
