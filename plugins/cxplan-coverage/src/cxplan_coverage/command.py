"""`cxplan coverage SCENARIO`: which candidates cover each stage, persona and moment of truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def coverage(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
) -> None:
    """Show which candidate improvements cover each stage, persona and moment of truth."""
    from cxplan.plugin_api import build_journey, load_for_command, run_command

    def body() -> None:
        from cxplan_coverage.rules import covering

        loaded = load_for_command(scenario)
        journey = build_journey(loaded)
        ids = journey.touchpoint_ids
        reachable = {chain.id: {ids[t] for t in chain.reachable_index}
                     for chain in journey.personas}
        for key, candidates in covering(loaded, reachable).items():
            typer.echo(key.replace("_", " ") + ":")
            for name, found in candidates.items():
                typer.echo(f"  {name}: {', '.join(found) or 'nothing covers it'}")

    run_command(body)
