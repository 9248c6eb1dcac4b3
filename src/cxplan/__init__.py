"""cxplan: provably optimal customer-experience improvement plans.

Public API (imported lazily so that `cxplan --help` stays fast):

- `load_scenario(path_or_dict)` -> `Scenario` (raises `ScenarioError` with every problem)
- `evaluate(scenario, selection)` -> `SelectionValue` (exact value of a given selection)
- `optimize(scenario, budget=..., teams=..., options=SolverOptions(...))` -> `Plan`
- `build_journey(scenario)` -> `Journey` (the Markov chains; `.evaluate(selection)`)
- `write_reports(plan, scenario, directory)` -> paths of the HTML and Markdown reports
- `robust(scenario, samples=..., seed=..., executor=...)` -> `RobustResult` (plans under
  uncertain inputs: every draw's optimum, the nominal plan's gain and regret, a robust plan)
- `alternatives(scenario, count=..., within=..., differ=...)` -> `Alternatives`
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

from cxplan.version import __version__

# Small solves ran 10-30x slower with multithreaded BLAS on 2 cores (measured), and the
# evaluator's small sparse solves 10x slower: one thread, unless the caller chose. Only
# effective if numpy is imported after cxplan (the command line makes sure of that).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

if TYPE_CHECKING:  # typed for plugin authors' `@cxplan.hookimpl`; imported lazily at run time
    from cxplan.plugins.hookspecs import hookimpl as hookimpl


_EXPORTS = {
    "load_scenario": "cxplan.load",
    "evaluate": "cxplan.api",
    "optimize": "cxplan.api",
    "apply_limits": "cxplan.scenario.limits",
    "SelectionValue": "cxplan.api",
    "build_journey": "cxplan.core.journey",
    "Journey": "cxplan.core.journey",
    "Evaluation": "cxplan.core.journey",
    "Plan": "cxplan.core.results",
    "Scenario": "cxplan.scenario.models",
    "SolverOptions": "cxplan.optimizer.options",
    "Criterion": "cxplan.core.criterion",
    "EvaluationContext": "cxplan.core.criterion",
    "hookimpl": "cxplan.plugins.hookspecs",
    "write_reports": "cxplan.report.write",
    "robust": "cxplan.robustness.analysis",
    "RobustResult": "cxplan.robustness.analysis",
    "alternatives": "cxplan.whatif.alternatives",
    "CxplanError": "cxplan.errors",
    "ScenarioError": "cxplan.errors",
    "InfeasibleError": "cxplan.errors",
    "PluginError": "cxplan.errors",
    "UsageError": "cxplan.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cxplan' has no attribute {name!r}")
    return getattr(import_module(module), name)
