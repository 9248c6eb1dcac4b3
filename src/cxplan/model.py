"""Deprecated compatibility path for the model context: use `cxplan.plugin_api.ModelView`.

Criteria and constraint plugins receive the model as a `ModelView` (decision variables
and exact expressions, nothing of how the model is built). `ModelContext`, the name
plugins annotated with before, is that view. Keeps working in plugin API 1.x, with a
`CxplanDeprecationWarning`; goes in 2.0 (docs/plugins.md, "Stability").
"""

from cxplan.core.criterion import ModelView
from cxplan.errors import deprecated_module

deprecated_module("cxplan.model", "ModelView (ModelContext's new name)")

ModelContext = ModelView

__all__ = ["ModelContext", "ModelView"]
