"""Reports: a view model computed from a plan (`build`, `roadmap`, `summary`, `journeymap`,
`analysis` into the types of `view`), rendered with Jinja (`render`) and written
atomically (`write`); the what-if commands' pages and charts (`whatif`).

`from cxplan.report import build_view, render_html, write_reports` keeps working.
"""

from cxplan.report.build import build_view, status_line
from cxplan.report.journeymap import NO_STAGE
from cxplan.report.render import (
    HTML_TEMPLATE,
    MARKDOWN_TEMPLATE,
    markdown_escape,
    render_html,
    render_markdown,
)
from cxplan.report.roadmap import build_roadmap
from cxplan.report.view import (
    Bar,
    CriterionRow,
    CurvePoint,
    CurveTick,
    GanttChart,
    GanttColumn,
    GanttRow,
    LeftOutRow,
    PersonaRow,
    PlanRow,
    ReportView,
    ResourceUse,
    Roadmap,
    RoadmapItem,
    RoadmapPeriod,
    StageRow,
    Totals,
    TouchpointRow,
    ValueCurve,
)
from cxplan.report.write import report_slug, write_reports
from cxplan.text import format_amount, format_gap, format_money, format_number, format_percent

__all__ = [
    "HTML_TEMPLATE",
    "MARKDOWN_TEMPLATE",
    "NO_STAGE",
    "Bar",
    "CriterionRow",
    "CurvePoint",
    "CurveTick",
    "GanttChart",
    "GanttColumn",
    "GanttRow",
    "LeftOutRow",
    "PersonaRow",
    "PlanRow",
    "ReportView",
    "ResourceUse",
    "Roadmap",
    "RoadmapItem",
    "RoadmapPeriod",
    "StageRow",
    "Totals",
    "TouchpointRow",
    "ValueCurve",
    "build_roadmap",
    "build_view",
    "format_amount",
    "format_gap",
    "format_money",
    "format_number",
    "format_percent",
    "markdown_escape",
    "render_html",
    "render_markdown",
    "report_slug",
    "status_line",
    "write_reports",
]
