"""Compatibility: the path docs/plugins.md taught for the model context.

Criteria and constraint plugins receive the model as a `ModelView` (the Protocol in
`cxplan.core.criterion`: decision variables and exact expressions, nothing of how the
model is built). `ModelContext`, the name plugins annotated with before, is that view.
"""

from cxplan.core.criterion import ModelView

ModelContext = ModelView

__all__ = ["ModelContext", "ModelView"]
