"""The plugin API versions a plugin supports: declared by the plugin, checked on loading.

A plugin module may say which versions of cxplan's plugin API (`PLUGIN_API_VERSION`,
semantic versioning; docs/plugins.md, "Stability") it is written for, as a version
specifier:

    CXPLAN_API = ">=1.0,<2"

Outside that range the plugin is refused with a message saying both versions (exit code
4), instead of failing later in some hook. A plugin that declares nothing is loaded.
"""

from __future__ import annotations

from cxplan.errors import PluginError
from cxplan.version import PLUGIN_API_VERSION, __version__

DECLARATION = "CXPLAN_API"


def supported_api(plugin: object, name: str) -> str | None:
    """The range of plugin API versions `plugin` declares (None: it declares none).

    Raises PluginError when the declaration is malformed or excludes this cxplan's API.
    """
    declared = getattr(plugin, DECLARATION, None)
    if declared is None:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        if not isinstance(declared, str):
            raise InvalidSpecifier(repr(declared))
        accepted = SpecifierSet(declared)
    except InvalidSpecifier:
        raise PluginError(name, DECLARATION, f"{declared!r} is not a version range; write "
                          f"for example {DECLARATION} = \">=1.0,<2\"") from None
    if not accepted.contains(PLUGIN_API_VERSION, prereleases=True):
        major = PLUGIN_API_VERSION.split(".")[0]
        raise PluginError(name, DECLARATION, (
            f"the plugin supports the plugin API {declared}, but this cxplan ({__version__}) "
            f"has plugin API {PLUGIN_API_VERSION}; install a release of the plugin written "
            f"for API {major}.x, or a cxplan whose plugin API it supports"))
    return declared
