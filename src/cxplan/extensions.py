"""Compatibility: the path docs/plugins.md taught for `ReportSection`.

`ReportSection` is defined with the hook that returns it, in `cxplan.plugins.hookspecs`;
plugins may keep importing it from here.
"""

from cxplan.plugins.hookspecs import ReportSection

__all__ = ["ReportSection"]
