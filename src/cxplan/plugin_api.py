"""cxplan's plugin API: everything a plugin may use, in one typed module.

    from cxplan.plugin_api import Criterion, EvaluationContext, ModelView, hookimpl

What this module exports is stable under the plugin API's semantic versioning
(`API_VERSION`; docs/plugins.md, "Stability"): within a major version nothing here is
removed or changes meaning, additions come with a minor version, and anything deprecated
keeps working, with a `DeprecationWarning` naming its replacement, until the next major
version. Every other module of cxplan is internal to it and may change in any release.
A plugin declares the API versions it supports with `CXPLAN_API = ">=1.0,<2"` in its
module; outside that range it is refused with a clear message.

Importing this module is cheap (it is imported whenever a plugin is, also for `cxplan
--help`): what needs the heavy libraries (numpy, PuLP, pydantic) is imported on first
use, like `cxplan`'s own top-level names.

- hooks: `hookimpl` (mark a hook implementation), `requires_section` (a
  `cxplan_constraints` implementation needs a scenario section), `ReportSection`;
- criteria: `Criterion`, `ModelView` (what `model_term` and `cxplan_constraints` get),
  `EvaluationContext` (what `evaluate` gets), `evaluation_context(scenario, selection)`
  (one, built stand-alone), `standalone_gains(journey)` (each improvement's own gain);
- scenarios and plans: `load_scenario`, `optimize`, `evaluate`, `build_journey`,
  `write_reports`, and the types `Scenario` (with `scenario.extension(name, Model)`),
  `Plan`, `Journey`, `Evaluation`, `SelectionValue`, `SolverOptions`;
- commands (hook `cxplan_cli`): `run_command(body)` (cxplan's error messages and exit
  codes), `load_for_command(path)` (a scenario, with the run's plugins and
  `--allow-path`), `emit(text)` (machine-readable output);
- plugins: `current_plugins()` (the plugin manager the running command or API call
  uses), `PluginManager` (its type);
- text: `did_you_mean(word, known)`;
- errors: `CxplanError`, `ScenarioError`, `PluginError`, `UsageError`,
  `InfeasibleError`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cxplan.core.criterion import Criterion, EvaluationContext, ModelView
from cxplan.errors import CxplanError, InfeasibleError, PluginError, ScenarioError, UsageError
from cxplan.plugins.hookspecs import ReportSection, hookimpl, requires_section
from cxplan.text import did_you_mean
from cxplan.version import PLUGIN_API_VERSION

API_VERSION = PLUGIN_API_VERSION
"""The plugin API's version (semantic versioning), also `api_version` in `cxplan plugins
--json`."""

# name -> (module, attribute): imported on first use (these pull numpy, PuLP or pydantic).
_LAZY = {
    "load_scenario": ("cxplan.load", "load_scenario"),
    "optimize": ("cxplan.api", "optimize"),
    "evaluate": ("cxplan.api", "evaluate"),
    "SelectionValue": ("cxplan.api", "SelectionValue"),
    "build_journey": ("cxplan.core.journey", "build_journey"),
    "Journey": ("cxplan.core.journey", "Journey"),
    "Evaluation": ("cxplan.core.journey", "Evaluation"),
    "evaluation_context": ("cxplan.core.evaluation", "evaluation_context"),
    "standalone_gains": ("cxplan.criteria.standalone", "standalone_gains"),
    "write_reports": ("cxplan.report.write", "write_reports"),
    "Plan": ("cxplan.core.results", "Plan"),
    "Scenario": ("cxplan.scenario.models", "Scenario"),
    "SolverOptions": ("cxplan.optimizer.options", "SolverOptions"),
    "run_command": ("cxplan.cli.common", "run"),
    "load_for_command": ("cxplan.cli.common", "load"),
    "emit": ("cxplan.cli.common", "emit"),
    "current_plugins": ("cxplan.plugins.manager", "get_plugin_manager"),
    "PluginManager": ("cxplan.plugins.manager", "CxplanPlugins"),
}

__all__ = [  # a literal list: type checkers read it to know what is exported
    "API_VERSION",
    "Criterion",
    "CxplanError",
    "Evaluation",
    "EvaluationContext",
    "InfeasibleError",
    "Journey",
    "ModelView",
    "Plan",
    "PluginError",
    "PluginManager",
    "ReportSection",
    "Scenario",
    "ScenarioError",
    "SelectionValue",
    "SolverOptions",
    "UsageError",
    "build_journey",
    "current_plugins",
    "did_you_mean",
    "emit",
    "evaluate",
    "evaluation_context",
    "hookimpl",
    "load_for_command",
    "load_scenario",
    "optimize",
    "requires_section",
    "run_command",
    "standalone_gains",
    "write_reports",
]

if TYPE_CHECKING:
    from cxplan.api import SelectionValue as SelectionValue
    from cxplan.api import evaluate as evaluate
    from cxplan.api import optimize as optimize
    from cxplan.cli.common import emit as emit
    from cxplan.cli.common import load as load_for_command
    from cxplan.cli.common import run as run_command
    from cxplan.core.evaluation import evaluation_context as evaluation_context
    from cxplan.core.journey import Evaluation as Evaluation
    from cxplan.core.journey import Journey as Journey
    from cxplan.core.journey import build_journey as build_journey
    from cxplan.core.results import Plan as Plan
    from cxplan.criteria.standalone import standalone_gains as standalone_gains
    from cxplan.load import load_scenario as load_scenario
    from cxplan.optimizer.options import SolverOptions as SolverOptions
    from cxplan.plugins.manager import CxplanPlugins as PluginManager
    from cxplan.plugins.manager import get_plugin_manager as current_plugins
    from cxplan.report.write import write_reports as write_reports
    from cxplan.scenario.models import Scenario as Scenario
else:

    def __getattr__(name: str) -> Any:
        found = _LAZY.get(name)
        if found is None:
            raise AttributeError(f"module 'cxplan.plugin_api' has no attribute {name!r}")
        value = getattr(import_module(found[0]), found[1])
        globals()[name] = value  # once imported, a plain attribute
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
