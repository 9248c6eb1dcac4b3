"""A plugin's criterion as cxplan uses it: every call checked and attributed to the plugin.

An exception or a value of the wrong type from `model_term`, `evaluate` or `magnitude`
becomes a `PluginError` naming the plugin and the criterion; `plugin` and `builtin` let
the agreement check (`cxplan.core.evaluation.check_criterion`) blame the right party when
the model term and the evaluation disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cxplan.core.criterion import Criterion
from cxplan.errors import PluginError
from cxplan.plugins.guard import plugin_code


class GuardedCriterion(Criterion):
    """`inner`, registered by `plugin`, with its failures named."""

    def __init__(self, inner: Criterion, plugin: str, *, builtin: bool = False) -> None:
        self.inner = inner
        self.plugin = plugin
        self.builtin = builtin
        self.name = inner.name
        self.description = inner.description
        self.unit = inner.unit
        self.requires_section = inner.requires_section

    def _fail(self, method: str, message: str) -> PluginError:
        return PluginError(self.plugin, f"criterion {self.name!r}, {method}", message)

    def model_term(self, ctx: Any) -> Any:
        import pulp

        with plugin_code(self.plugin, f"criterion {self.name!r}, model_term",
                         interruptible=False):
            term = self.inner.model_term(ctx)
        if isinstance(term, int | float) and not isinstance(term, bool):
            return pulp.LpAffineExpression(constant=float(term))
        if isinstance(term, pulp.LpVariable):
            return pulp.LpAffineExpression([(term, 1.0)])
        if not isinstance(term, pulp.LpAffineExpression):
            raise self._fail("model_term", f"must return a linear expression "
                             f"(pulp.LpAffineExpression), got {type(term).__name__}")
        return term

    def evaluate(self, ctx: Any) -> float:
        return self._number("evaluate", self.inner.evaluate, ctx)

    def magnitude(self, ctx: Any) -> float:
        return abs(self._number("magnitude", self.inner.magnitude, ctx))

    def _number(self, method: str, function: Callable[[Any], Any], ctx: Any) -> float:
        with plugin_code(self.plugin, f"criterion {self.name!r}, {method}",
                         interruptible=False):
            value = function(ctx)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number):
            raise self._fail(method, f"must return a finite number, got {value!r}")
        return number
