"""Layer 1, the scenario: reading a file, its format (pydantic models), variants and checks.

Knows nothing of plugins, the Markov chains or the solver: plugins' names and sections
arrive as data. The models are re-exported here (`from cxplan.scenario import Scenario`).
"""

from cxplan.scenario.models import (
    DEFAULT_PERSONA_ID,
    Edge,
    Effect,
    Horizon,
    Id,
    Improvement,
    JourneyGraph,
    NonNegative,
    Objective,
    PeriodValues,
    Persona,
    PriorityLevel,
    Probability,
    Scenario,
    Touchpoint,
    TouchpointOverride,
    Weight,
)

__all__ = [
    "DEFAULT_PERSONA_ID",
    "Edge",
    "Effect",
    "Horizon",
    "Id",
    "Improvement",
    "JourneyGraph",
    "NonNegative",
    "Objective",
    "PeriodValues",
    "Persona",
    "PriorityLevel",
    "Probability",
    "Scenario",
    "Touchpoint",
    "TouchpointOverride",
    "Weight",
]
