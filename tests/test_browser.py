"""The HTML report of every bundled scenario in headless Chromium.

What a browser can tell and Python cannot: the page lays out without overflowing the page
width (at a desktop width and at the printable width of an A4/Letter page), the journey
map is drawn at a readable size and none of its texts overlap, and the page logs no
console message: its Content-Security-Policy forbids every script and outside resource,
and Chromium logs each blocked attempt, so a quiet console means the page works as it is,
with nothing to load and no JavaScript.

Every chart on every page (the plan reports, and the what-if pages: frontier, sensitivity
and comparison) is checked by bounding boxes: each text lies inside its SVG's viewBox and
inside the page (nothing clipped), no two texts overlap, no edge of the journey map
crosses a text (each path is sampled with getPointAtLength against the texts' and badges'
boxes; an edge's own label sits on it by design), and the frontier marks today's budget.

Measuring needs script, which the report itself never contains: a test-only page holds
each report, untouched, in `srcdoc` iframes of fixed widths, and its own script writes the
measurements into the DOM, which `--dump-dom` returns. Set CXPLAN_SCREENSHOTS=DIR to keep
the full-page screenshots. Without Chromium (Debian package `chromium`, installed by
.ci/run) these tests are skipped, with the reason shown in pytest's summary.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from cxplan.report import build_view, render_html
from cxplan.report.whatif import render_comparison, render_frontier, render_sensitivity
from cxplan.whatif.compare import compare
from cxplan.whatif.frontier import frontier
from cxplan.whatif.sensitivity import sensitivity

from conftest import BundledPlan

ROOT = Path(__file__).parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
NAMES = [p.stem for p in SCENARIOS]
# What-if pages of each business (the microfinance variants share their base's journey and
# names, so its pages stand for theirs; roadmaps have no what-if pages yet). Sensitivity on
# microfinance examines only costs, the one kind solved without rebuilding the model (each
# of the others costs seconds per range), of the funded improvements with the longest names.
WHATIF_SCENARIOS = ["airline-trip", "microfinance-onboarding", "online-returns", "restaurant"]
VARIANTS = ["microfinance-onboarding", "microfinance-bigger-budget",
            "microfinance-call-centre-doubts"]
WHATIF = [*(f"{stem}-{page}" for stem in WHATIF_SCENARIOS for page in ("frontier", "sensitivity")),
          "compare-microfinance"]
DESKTOP = 1280
PRINTABLE = 703  # A4 width 210 mm less the report's 2 × 12 mm page margins, at 96 px/inch
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio")


def _chromium() -> str | None:
    override = os.environ.get("CXPLAN_CHROMIUM")
    if override:
        return override
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (Debian package `chromium`, which .ci/run installs; "
           "or set CXPLAN_CHROMIUM): browser checks of the HTML reports skipped")


def _run(profile: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=False,
                          stdin=subprocess.DEVNULL)


MEASURE = """
const inside = (p, b) => p.x > b.x + 1 && p.x < b.x + b.width - 1
                         && p.y > b.y + 1 && p.y < b.y + b.height - 1;
const meet = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                       && a.top < b.bottom - 1 && b.top < a.bottom - 1;
// edges of the journey map that run through a text or a badge (not their own label)
function crossings(map) {
  const labels = [...map.querySelectorAll(".edge-labels text")];
  const boxes = [...map.querySelectorAll("text"), ...map.querySelectorAll(".badge rect")]
    .map(el => ({el, box: el.getBBox(), own: labels.indexOf(el),
                 text: (el.textContent || "badge").trim()}))
    .filter(b => b.box.width > 0);
  const found = [];
  map.querySelectorAll("path.edge").forEach((path, k) => {
    const length = path.getTotalLength(), hit = new Set();
    for (let s = 0; s <= length; s += 1.5) {
      const p = path.getPointAtLength(s);
      for (const b of boxes) if (b.own !== k && inside(p, b.box)) hit.add(b.text);
    }
    const title = path.querySelector("title").textContent;
    hit.forEach(text => found.push(title.split(":")[0] + " crosses " + text));
  });
  return found;
}
// every chart (not the legends' swatches): texts clipped by the viewBox or the page, overlaps
function charts(doc, root) {
  const out = [];
  for (const svg of doc.querySelectorAll("svg")) {
    const view = svg.viewBox.baseVal;
    if (!view || !view.width || svg.closest(".key, .legend, figcaption, .chart-legend")) continue;
    const texts = [...svg.querySelectorAll("text")].filter(t => t.getBBox().width > 0);
    const clipped = [], overlaps = [];
    const rects = texts.map(t => t.getBoundingClientRect());
    const frame = svg.getBoundingClientRect();  // the viewBox as drawn (aspect kept)
    texts.forEach((t, i) => {
      const r = rects[i];
      if (r.left < frame.left - 0.5 || r.top < frame.top - 0.5 || r.right > frame.right + 0.5
          || r.bottom > frame.bottom + 0.5 || r.left < -0.5 || r.right > root.clientWidth + 0.5)
        clipped.push(t.textContent.trim());
      rects.slice(i + 1).forEach((r, j) => {
        if (meet(rects[i], r)) overlaps.push([t.textContent.trim(),
                                              texts[i + 1 + j].textContent.trim()]);
      });
    });
    out.push({kind: svg.getAttribute("class") || "svg", texts: texts.length, clipped, overlaps,
              today: svg.querySelectorAll("g.today text").length});
  }
  return out;
}
addEventListener("load", () => {
  const out = [];
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument, root = doc.documentElement;
    const wide = [];
    for (const el of doc.body.querySelectorAll("*")) {
      const right = el.getBoundingClientRect().right;
      const parent = el.parentElement;
      if (right > root.clientWidth + 1 && wide.length < 5 && (parent === doc.body
          || parent.getBoundingClientRect().right <= root.clientWidth + 1)) {
        wide.push(el.tagName + "." + el.getAttribute("class") + ": "
                  + (el.textContent || "").trim().slice(0, 50));
      }
    }
    const map = doc.querySelector("svg.journey-map");
    const box = map ? map.getBoundingClientRect() : null;
    const elements = map ? [...map.querySelectorAll("text")]
                           .filter(t => t.getBoundingClientRect().width > 0) : [];
    const texts = elements.map(t => t.getBoundingClientRect());
    const overlaps = [], outside = [];
    texts.forEach((a, i) => {
      if (a.left < box.left - 1 || a.right > box.right + 1 || a.top < box.top - 1
          || a.bottom > box.bottom + 1) outside.push(elements[i].textContent);
      texts.slice(i + 1).forEach((b, j) => {
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1) {
          overlaps.push([elements[i].textContent, elements[i + 1 + j].textContent]);
        }
      });
    });
    const fontSize = map ? parseFloat(getComputedStyle(map.querySelector(".node-name")).fontSize)
                     * box.width / map.viewBox.baseVal.width : 0;
    out.push({name: frame.dataset.name, width: +frame.dataset.width,
              scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
              height: root.scrollHeight, wide, maps: doc.querySelectorAll("svg.journey-map").length,
              mapWidth: box ? box.width : 0, texts: texts.length, overlaps, outside, fontSize,
              crossings: map ? crossings(map) : [], charts: charts(doc, root)});
  }
  document.getElementById("result").textContent = JSON.stringify(out);
});
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory,
            bundled_plan: BundledPlan) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    paths = {}
    for path in SCENARIOS:
        target = folder / f"{path.stem}.html"
        target.write_text(render_html(build_view(*bundled_plan(path))), encoding="utf-8")
        paths[path.stem] = target
    return paths


@pytest.fixture(scope="module")
def whatif_pages(tmp_path_factory: pytest.TempPathFactory,
                 bundled_plan: BundledPlan) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("whatif")
    pages: dict[str, str] = {}
    for stem in WHATIF_SCENARIOS:
        plan, scenario = bundled_plan(ROOT / "scenarios" / f"{stem}.yaml")
        budget = scenario.budget
        pages[f"{stem}-frontier"] = render_frontier(
            frontier(scenario, "budget", [budget * 0.8, budget, budget * 1.2]))[0]
        longest = sorted(plan.selected, key=lambda i: -len(scenario.improvement(i).label))
        if stem.startswith("microfinance"):
            ranges = sensitivity(scenario, improvements=longest[:3], kinds=("cost",))
        else:
            ranges = sensitivity(scenario, improvements=longest[:3], touchpoints=2)
        pages[f"{stem}-sensitivity"] = render_sensitivity(ranges)[0]
    solved = [bundled_plan(ROOT / "scenarios" / f"{stem}.yaml") for stem in VARIANTS]
    pages["compare-microfinance"] = render_comparison(
        compare([s for _, s in solved], [p for p, _ in solved]))
    paths = {}
    for name, text in pages.items():
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(text, encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def measurements(
    reports: dict[str, Path], whatif_pages: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, int], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("measure")
    frames = "".join(
        f'<iframe data-name="{name}" data-width="{width}" style="width:{width}px;height:900px;'
        f'border:0;display:block" srcdoc="{html.escape(path.read_text(encoding="utf-8"))}">'
        "</iframe>"
        for name, path in {**reports, **whatif_pages}.items() for width in (DESKTOP, PRINTABLE))
    page = folder / "measure.html"
    page.write_text(f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>m'
                    f'</title></head><body>{frames}<pre id="result"></pre>'
                    f"<script>{MEASURE}</script></body></html>", encoding="utf-8")
    done = _run(folder / "profile", ["--window-size=1400,1000", "--dump-dom", page.as_uri()])
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1), f"no measurements from Chromium: {done.stderr[-2000:]}"
    return {(m["name"], m["width"]): m for m in json.loads(html.unescape(found.group(1)))}


@pytest.fixture(scope="module")
def screenshots(
    reports: dict[str, Path],
    whatif_pages: dict[str, Path],
    measurements: dict[tuple[str, int], dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, str]]:
    keep = os.environ.get("CXPLAN_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)

    pages = {**reports, **whatif_pages}

    def shoot(name: str) -> tuple[Path, str]:
        png = folder / f"{name}.png"
        height = measurements[(name, DESKTOP)]["height"]
        done = _run(tmp_path_factory.mktemp(f"profile-{name}"), [
            "--enable-logging=stderr", "--v=0",
            f"--window-size={DESKTOP},{height}", f"--screenshot={png}",
            pages[name].as_uri()])
        assert png.exists(), f"no screenshot of {name}: {done.stderr[-2000:]}"
        return png, done.stderr

    pages = {**reports, **whatif_pages}
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(pages, pool.map(shoot, pages), strict=True))


@pytest.mark.parametrize("width", [DESKTOP, PRINTABLE])
@pytest.mark.parametrize("name", NAMES)
def test_nothing_overflows_the_page_width(
    measurements: dict[tuple[str, int], dict[str, Any]], name: str, width: int
) -> None:
    m = measurements[(name, width)]
    assert m["scrollWidth"] <= m["clientWidth"], f"wider than the page: {m['wide']}"
    assert m["wide"] == []


@pytest.mark.parametrize("name", NAMES)
def test_the_journey_map_is_drawn_readably(
    measurements: dict[tuple[str, int], dict[str, Any]], name: str
) -> None:
    for width in (DESKTOP, PRINTABLE):
        m = measurements[(name, width)]
        assert m["maps"] == 1
        assert m["clientWidth"] * 0.8 <= m["mapWidth"] <= m["clientWidth"]
        assert m["texts"] > 20
        assert m["overlaps"] == [], f"texts of the map overlap at width {width}"
        assert m["outside"] == [], "texts stick out of the map"
    # node names at full width stay at a normal reading size (≥ 11 px)
    assert measurements[(name, DESKTOP)]["fontSize"] >= 11


@pytest.mark.parametrize("name", NAMES)
def test_renders_and_logs_nothing(
    screenshots: dict[str, tuple[Path, str]],
    measurements: dict[tuple[str, int], dict[str, Any]],
    name: str,
) -> None:
    png, log = screenshots[name]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (DESKTOP, measurements[(name, DESKTOP)]["height"])
    assert len(data) > 50_000  # a real page, not a blank one
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert console == [], f"console messages: {console}"


@pytest.mark.parametrize("name", NAMES)
def test_no_edge_of_the_journey_map_crosses_a_text(
    measurements: dict[tuple[str, int], dict[str, Any]], name: str
) -> None:
    assert measurements[(name, DESKTOP)]["crossings"] == []


@pytest.mark.parametrize("width", [DESKTOP, PRINTABLE])
@pytest.mark.parametrize("name", NAMES + WHATIF)
def test_chart_texts_are_inside_their_chart_and_apart(
    measurements: dict[tuple[str, int], dict[str, Any]], name: str, width: int
) -> None:
    charts = measurements[(name, width)]["charts"]
    assert charts or name.startswith("compare-"), "the page has a chart"
    for chart in charts:
        assert chart["clipped"] == [], f"{chart['kind']}: texts cut off"
        assert chart["overlaps"] == [], f"{chart['kind']}: texts overlap"


@pytest.mark.parametrize("name", [n for n in WHATIF if n.endswith("-frontier")])
def test_the_frontier_marks_todays_budget(
    measurements: dict[tuple[str, int], dict[str, Any]], name: str
) -> None:
    (chart,) = [c for c in measurements[(name, DESKTOP)]["charts"]
                if c["kind"] == "frontier-chart"]
    assert chart["today"] == 1


@pytest.mark.parametrize("name", WHATIF)
def test_whatif_pages_render_and_log_nothing(
    screenshots: dict[str, tuple[Path, str]], name: str
) -> None:
    png, log = screenshots[name]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [line for line in log.splitlines() if "CONSOLE" in line]
    assert console == [], f"console messages: {console}"
