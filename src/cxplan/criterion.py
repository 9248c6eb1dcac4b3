"""Compatibility: the path docs/plugins.md teaches for the criterion API.

The criterion API lives in `cxplan.core.criterion`; plugins may keep importing it from
here.
"""

from cxplan.core.criterion import Criterion, EvaluationContext, ModelView

__all__ = ["Criterion", "EvaluationContext", "ModelView"]
