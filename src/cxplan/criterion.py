"""Deprecated compatibility path for the criterion API: use `cxplan.plugin_api`.

`from cxplan.criterion import Criterion, EvaluationContext, ModelView` keeps working in
plugin API 1.x, with a `CxplanDeprecationWarning`; it goes in 2.0 (docs/plugins.md,
"Stability").
"""

from cxplan.core.criterion import Criterion, EvaluationContext, ModelView
from cxplan.errors import deprecated_module

deprecated_module("cxplan.criterion", "Criterion, EvaluationContext and ModelView")

__all__ = ["Criterion", "EvaluationContext", "ModelView"]
