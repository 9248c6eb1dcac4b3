"""The version of cxplan (also `cxplan.__version__`) and of its plugin API.

`PLUGIN_API_VERSION` versions the hook API and `cxplan.plugin_api` semantically,
independently of cxplan's own version (docs/plugins.md, "Stability"): a minor version adds,
a major version may remove what a minor version deprecated.
"""

__version__ = "0.1.0"
PLUGIN_API_VERSION = "1.0.0"
