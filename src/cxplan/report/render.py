"""Rendering with Jinja: one sandboxed environment for every page cxplan writes (the plan's
HTML and Markdown reports and the what-if pages).

Templates are looked up in the user's folder (`templates_dir`, `--templates DIR`), then in
plugin template folders (`plugin_templates`), then among the built-ins; every built-in is
also reachable as `builtin/<name>`, so an override can `{% extends "builtin/report.html.j2"
%}` and replace single blocks. Templates run in Jinja's sandbox (they cannot reach Python
internals) with HTML autoescaping (Markdown: every expression escaped); a broken or
forbidden template raises `TemplateError`. Numbers are formatted by the filters `number`,
`money`, `amount`, `percent` and `gap` (`cxplan.text`).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import jinja2.sandbox

from cxplan.errors import CxplanError, TemplateError
from cxplan.files import NotRegularFile, open_regular
from cxplan.plugins.hookspecs import ReportSection
from cxplan.report.view import ReportView
from cxplan.text import (
    format_amount,
    format_gap,
    format_money,
    format_number,
    format_percent,
)

HTML_TEMPLATE = "report.html.j2"


MARKDOWN_TEMPLATE = "report.md.j2"


BUILTIN_PREFIX = "builtin"  # built-in templates stay reachable as "builtin/<name>"


# `_` inside a word cannot start emphasis in CommonMark, and escaping it there would make
# ids like `expected_experience` hard to read in the plain file
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def markdown_escape(value: object) -> object:
    """Escape text for Markdown so names cannot inject markup, HTML or break a table row.

    Non-strings pass through unchanged (Jinja's `finalize` sees every expression output).
    """
    if not isinstance(value, str):
        return value
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(value.splitlines()))


class ConfinedLoader(jinja2.FileSystemLoader):
    """Templates from one folder, none of which may resolve outside it: a symbolic link to
    `/etc/shadow` (or to `/`) in a templates folder is refused, not read. Only regular files
    are read, as UTF-8 text."""

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = jinja2.loaders.split_template_path(template)  # refuses ".." itself
        for folder in self.searchpath:
            candidate = os.path.join(folder, *pieces)
            if not os.path.lexists(candidate):
                continue
            real = os.path.realpath(candidate)
            root = os.path.realpath(folder)
            if os.path.commonpath([real, root]) != root:
                raise TemplateError(f"template {template!r} in {folder} leads to {real}, "
                                    "outside the templates folder: not read")
            try:
                with open_regular(real, follow_last_link=False) as handle:
                    contents = handle.read().decode(self.encoding)
            except NotRegularFile as exc:
                raise TemplateError(f"template {template!r} in {folder} is {exc.kind}: "
                                    "not read") from None
            except UnicodeDecodeError as exc:
                raise TemplateError(f"template {template!r} in {folder} is not UTF-8 text "
                                    f"(bad byte at offset {exc.start})") from None
            except OSError as exc:
                raise TemplateError(f"template {template!r} in {folder} cannot be read: "
                                    f"{exc.strerror or exc}") from None
            mtime = os.path.getmtime(real)

            def uptodate(path: str = real, seen: float = mtime) -> bool:
                try:
                    return os.path.getmtime(path) == seen
                except OSError:
                    return False

            return contents, os.path.normpath(candidate), uptodate
        raise jinja2.TemplateNotFound(template)


def _loaders(
    templates_dir: str | Path | None, plugin_templates: Sequence[str | Path]
) -> jinja2.BaseLoader:
    folders = ([templates_dir] if templates_dir is not None else []) + list(plugin_templates)
    builtin = jinja2.PackageLoader("cxplan", "templates")
    return jinja2.ChoiceLoader([
        *(ConfinedLoader(str(folder)) for folder in folders),
        builtin,
        jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}),
    ])


@jinja2.pass_context
def _money_filter(
    context: jinja2.runtime.Context, value: float, decimals: int = 0, sign: bool = False
) -> str:
    """`money` in templates: the amount with the report's currency (from `view`)."""
    return format_money(value, getattr(context.get("view"), "currency", None), decimals,
                        sign=sign)


def _environment(
    templates_dir: str | Path | None, plugin_templates: Sequence[str | Path], *, html: bool
) -> jinja2.Environment:
    for folder in ([templates_dir] if templates_dir is not None else []) + list(plugin_templates):
        if not Path(folder).is_dir():
            raise TemplateError(f"templates folder {str(folder)!r} does not exist or is not "
                                "a folder")
    return _cached_environment(None if templates_dir is None else str(templates_dir),
                               tuple(str(f) for f in plugin_templates), html)


# Compiling the templates costs more than rendering them; an environment keeps its
# compiled templates (and reloads a file that changed on disk), so it is kept per folders.
@functools.lru_cache(maxsize=16)
def _cached_environment(
    templates_dir: str | None, plugin_templates: tuple[str, ...], html: bool
) -> jinja2.Environment:
    # The sandbox refuses attribute access to Python internals (__class__, __globals__,
    # functions' code ...), so a report template from an untrusted author cannot run code;
    # the immutable variant also refuses to modify the view model's lists and dicts.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=_loaders(templates_dir, plugin_templates),
        autoescape=html,
        # Markdown has no autoescape; escaping every expression's output is the safe default
        finalize=None if html else markdown_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=format_number, amount=format_amount, percent=format_percent,
                       gap=format_gap, money=_money_filter)
    return env


def _template_place(tb: TracebackType | None) -> str:
    """`report.html.j2, line 12`: the innermost template frame of a rendering error."""
    place = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2") or "/templates/" in name.replace("\\", "/"):
            place = f"{Path(name).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return place


def render_template(
    name: str,
    context: Mapping[str, Any],
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    html: bool = True,
) -> str:
    """Render the template `name` with `context`, in the sandboxed environment of these
    template folders (HTML autoescaped; Markdown escaped by `markdown_escape`). Raises
    `TemplateError` for a broken or forbidden template, naming it and its line."""
    env = _environment(templates_dir, plugin_templates, html=html)
    try:
        return env.get_template(name).render(**context)
    except jinja2.exceptions.SecurityError as exc:
        place = _template_place(exc.__traceback__)
        raise TemplateError(
            f"template {place or name}: not allowed in a report template: {exc}. Templates "
            "run in a sandbox and may only read the report's view model "
            "(docs/report-view-model.md).") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {exc.filename or exc.name or name}, line {exc.lineno}: "
                            f"{exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found (looked in the templates "
                            "folder, plugin template folders and the built-ins)") from None
    except jinja2.TemplateError as exc:
        place = _template_place(exc.__traceback__)
        raise TemplateError(f"template {place or name}: {exc}") from None
    except CxplanError:
        raise
    except RecursionError:
        raise TemplateError(f"template {name}: it includes or calls itself without end "
                            "(recursion too deep)") from None
    except Exception as exc:
        # Whatever a template's expressions raise (1/0, wordwrap(0), a range too large for
        # the sandbox, ...) is the template's fault, named with its line.
        place = _template_place(exc.__traceback__)
        raise TemplateError(f"template {place or name}: {type(exc).__name__}: {exc}") from None


def render_html(
    view: ReportView,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    sections: Sequence[ReportSection] = (),
) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script, no network).

    Templates are looked up in `templates_dir` first, then in `plugin_templates` (in order),
    then in the built-in ones. `sections` are plugins' extra sections, shown after the
    built-in ones. Raises `TemplateError` for a broken or forbidden template.
    """
    return render_template(HTML_TEMPLATE, {"view": view, "sections": tuple(sections)},
                           templates_dir=templates_dir, plugin_templates=plugin_templates)


def render_markdown(
    view: ReportView,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    sections: Sequence[ReportSection] = (),
) -> str:
    """The report as Markdown (GitHub-flavoured tables); text from the scenario is escaped."""
    return render_template(MARKDOWN_TEMPLATE, {"view": view, "sections": tuple(sections)},
                           templates_dir=templates_dir, plugin_templates=plugin_templates,
                           html=False)
