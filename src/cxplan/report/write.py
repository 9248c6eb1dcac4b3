"""Writing the reports: both rendered first, then written atomically together.

    >>> from cxplan import load_scenario, optimize, write_reports
    >>> scenario = load_scenario("scenarios/restaurant.yaml")
    >>> write_reports(optimize(scenario), scenario, "reports/")   # restaurant.html, .md
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cxplan.core.results import Plan
from cxplan.files import write_atomic
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.report.build import build_view
from cxplan.report.render import render_html, render_markdown
from cxplan.scenario.models import Scenario
from cxplan.text import slug


def report_slug(scenario: Scenario) -> str:
    """The reports' file name stem: the scenario file's stem, else a slug of its title."""
    stem = Path(scenario.source).stem if scenario.read_from_file else scenario.title
    return slug(stem, "report")


def write_reports(
    plan: Plan,
    scenario: Scenario,
    directory: str | Path,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    plugins: CxplanPlugins | None = None,
) -> list[Path]:
    """Write `<slug>.html` and `<slug>.md` into `directory` (created if missing).

    `plugins` (default: the installed ones) add their template folders after
    `plugin_templates`, and their report sections (hooks `cxplan_template_dirs`,
    `cxplan_report_sections`).

    Both reports are rendered before anything is written, then each goes to a temporary
    file in the same directory, is flushed to disk and renamed over the target, so a
    reader never sees a half-written report and an error leaves the old files intact.
    Returns the paths written, HTML first.
    """
    view = build_view(plan, scenario)
    # -- plugins: template folders and extra sections --
    manager = plugins or get_plugin_manager()
    plugin_templates = [*plugin_templates, *manager.template_dirs()]
    sections = manager.report_sections(plan, scenario)
    contents = {
        ".html": render_html(view, templates_dir=templates_dir,
                             plugin_templates=plugin_templates, sections=sections),
        ".md": render_markdown(view, templates_dir=templates_dir,
                               plugin_templates=plugin_templates, sections=sections),
    }
    html, md = report_paths(scenario, directory)
    return write_atomic({html: contents[".html"], md: contents[".md"]})


def report_paths(scenario: Scenario, directory: str | Path) -> tuple[Path, Path]:
    """The HTML and Markdown files `write_reports` writes for `scenario` into `directory`."""
    folder = Path(directory)
    slug = report_slug(scenario)
    return folder / f"{slug}.html", folder / f"{slug}.md"
