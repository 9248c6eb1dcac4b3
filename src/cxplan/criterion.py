"""Compatibility: the path docs/plugins.md taught for the criterion API.

The criterion API now lives in `cxplan.core.criterion`; plugins may keep importing it
from here.
"""

from cxplan.core.criterion import Criterion, EvaluationContext

__all__ = ["Criterion", "EvaluationContext"]
