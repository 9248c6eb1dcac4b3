"""Compatibility: the path docs/plugins.md taught for the model context.

The model lives in `cxplan.optimizer.model`; plugins may keep importing `ModelContext`
from here.
"""

from cxplan.optimizer.model import ModelContext

__all__ = ["ModelContext"]
