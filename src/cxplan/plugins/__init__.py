"""Layer 3, plugins: the hook specifications and the plugin manager.

`from cxplan.plugins import CxplanPlugins, get_plugin_manager, configure` keeps working.
"""

from cxplan.plugins.manager import (
    BUILTIN_PLUGINS,
    ENTRY_POINT_GROUP,
    CxplanPlugins,
    PluginInfo,
    configure,
    get_plugin_manager,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "CxplanPlugins",
    "PluginInfo",
    "configure",
    "get_plugin_manager",
]
