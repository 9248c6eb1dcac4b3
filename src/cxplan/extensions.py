"""Deprecated compatibility path for `ReportSection`: use `cxplan.plugin_api.ReportSection`.

Keeps working in plugin API 1.x, with a `CxplanDeprecationWarning`; goes in 2.0
(docs/plugins.md, "Stability").
"""

from cxplan.errors import deprecated_module
from cxplan.plugins.hookspecs import ReportSection

deprecated_module("cxplan.extensions", "ReportSection")

__all__ = ["ReportSection"]
