"""The journey map: a deterministic layout of the journey with the plan on it.

Stages are columns, channels are lanes; front-stage lanes (what the customer sees) come
first, then the line of visibility, then back-stage lanes. Each touchpoint is a node whose
area is proportional to its expected visits with the plan (over all customers), split in
two halves shaded by its expected loss before (left) and with the plan (right). Edges carry
the customer-weighted probability of going on; their width follows the expected number of
customers who take them. Funded improvements appear as numbered badges (their rank in the
plan) under the touchpoints they act on.

Everything here is geometry in SVG user units (about CSS pixels at full size), computed
from the exact evaluations; the template `journey_map.html.j2` only draws it. The layout
depends on nothing but the scenario and the plan, so the same plan always gives the same
map (reports diff cleanly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cxplan.core.journey import Evaluation, Journey
from cxplan.report.routing import Box, Obstacles, Point, Route, curve_path, route_edge, sample_curve
from cxplan.report.scales import nice_ceiling
from cxplan.report.textwidth import fit_lines, text_width
from cxplan.scenario.models import Scenario

NO_STAGE = "(no stage)"
NO_CHANNEL = "(no channel)"
MAP_LIMIT = 150  # touchpoints; beyond this a drawn map is unreadable, the tables remain
MAX_SLOTS = 6  # node slots side by side before wide columns wrap into rows (fits A4/Letter)

LANE_LABEL_WIDTH = 118.0
HEADER_HEIGHT = 34.0
SLOT_WIDTH = 164.0
LANE_HEIGHT = 134.0
VISIBILITY_GAP = 22.0  # room for the line of visibility between front and back stage
NODE_TOP = 34.0  # node centre below the lane's top edge
MAX_RADIUS = 22.0
MIN_RADIUS = 4.5
LABEL_CHARS = 24  # characters per label line at the map's font size (about 11 px)
LABEL_LINES = 3  # lines of a touchpoint's name before it is shortened with "…"
NAME_GUTTER = 12.0  # free on each side of a name within its slot
BADGE_WIDTH = 20.0
BADGE_HEIGHT = 14.0
BADGES_SHOWN = 6  # more improvements on one touchpoint are summarised as "+n"
SHADES = 5  # loss classes besides "no loss"
EDGE_MIN_WIDTH = 0.8
EDGE_MAX_WIDTH = 5.0


@dataclass(frozen=True)
class MapColumn:
    """One stage: a column from `x` to `x + width`."""

    name: str
    x: float
    width: float

    @property
    def center(self) -> float:
        """Horizontal centre of the column (where its heading is written)."""
        return self.x + self.width / 2


@dataclass(frozen=True)
class MapLane:
    """One channel on one side of the line of visibility: a band from `y` to `y + height`."""

    name: str  # the channel, or NO_CHANNEL
    front: bool  # front stage (seen by the customer) or back stage
    y: float
    height: float

    @property
    def center(self) -> float:
        """Vertical centre of the lane (where its name is written)."""
        return self.y + self.height / 2


@dataclass(frozen=True)
class MapBadge:
    """A funded improvement attached to a touchpoint, shown as its rank in the plan."""

    rank: int
    id: str
    name: str
    x: float  # top-left corner of the badge
    y: float
    label: str  # the rank as text, or "+n" for the improvements not shown


@dataclass(frozen=True)
class MapNode:
    """One touchpoint on the map."""

    id: str
    name: str
    stage: str
    channel: str  # the channel, or NO_CHANNEL
    front: bool
    moment_of_truth: bool
    reachable: bool  # False: no persona ever gets here (drawn as an empty dashed circle)
    x: float  # centre
    y: float
    r: float  # radius: the area is proportional to visits_after
    visits_before: float  # expected visits over all customers, nothing funded
    visits_after: float  # ... with the plan
    loss_before: float  # expected loss from failures over all customers, in currency
    loss_after: float
    shade_before: int  # loss class 0..SHADES (0: no loss); see JourneyMap.shades
    shade_after: int
    left_half: str  # SVG path of the left half disc (loss before)
    right_half: str  # ... the right half (loss with the plan)
    label_lines: tuple[str, ...]  # the name, wrapped and shortened to fit under the node
    label_y: float  # baseline of the first label line
    loss_text: str  # "loss 12.3k → 4.1k"
    loss_y: float
    entry: float  # share of all customers who start the journey here
    entry_text: str  # "start 70 %", "" when nobody starts here
    badges: tuple[MapBadge, ...]
    description: str  # plain text for the node's tooltip and screen readers


@dataclass(frozen=True)
class MapEdge:
    """A possible next step from one touchpoint to another."""

    source: str
    target: str
    probability: float  # customer-weighted share of those passing `source` who go on here
    flow: float  # expected customers taking this step with the plan
    path: str  # SVG path data, ending at the target's rim (an arrowhead is drawn there)
    width: float  # stroke width, from the flow
    label: str  # the probability as text
    label_x: float
    label_y: float
    back: bool  # goes back to an earlier stage or slot (a loop)
    description: str  # per persona probabilities, for the tooltip
    routed: bool = False  # drawn round texts and nodes on the router's grid (no clear curve)


@dataclass(frozen=True)
class ShadeClass:
    """One class of the loss shading, for the legend."""

    index: int  # 0 .. SHADES; the CSS class is `shade-<index>`
    low: float  # the class holds losses in (low, high]; class 0 is "no loss"
    high: float
    label: str  # "≤ 12k", "no loss"


@dataclass(frozen=True)
class JourneyMap:
    """The whole map: frame, lanes, columns, nodes, edges and the legend's loss classes."""

    width: float
    height: float
    columns: tuple[MapColumn, ...]
    lanes: tuple[MapLane, ...]
    visibility_y: float | None  # the line of visibility; None without back-stage lanes
    nodes: tuple[MapNode, ...]  # scenario order
    edges: tuple[MapEdge, ...]  # drawn in this order
    shades: tuple[ShadeClass, ...]
    max_visits: float  # visits of the largest node (radius MAX_RADIUS)
    summary: str  # one paragraph describing the map for screen readers


# -- small helpers ------------------------------------------------------------------------


def compact_number(value: float) -> str:
    """`12345` -> `"12.3k"`: short numbers for the map's labels (sign kept, no currency)."""
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit * 0.9995:
            scaled = value / limit
            text = f"{scaled:.1f}" if abs(scaled) < 99.95 else f"{scaled:.0f}"
            return text.removesuffix(".0") + suffix
    if magnitude >= 99.5 or magnitude == 0:
        return f"{value:.0f}"
    if magnitude >= 0.995:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2g}"


def probability_text(p: float) -> str:
    """`0.6` -> `"60 %"`, `0.025` -> `"2.5 %"`: whole percents unless that reads as 0."""
    percent = p * 100.0
    if percent >= 9.5 or percent == 0:
        return f"{percent:.0f} %"
    if percent >= 0.095:
        return f"{percent:.1f} %".replace(".0 %", " %")
    return "< 0.1 %"


def wrap_label(text: str, width: int = LABEL_CHARS, lines: int = 2) -> tuple[str, ...]:
    """Word-wrap `text` into at most `lines` lines of `width` characters, ending in "…" if
    it had to be shortened. Words longer than a line are cut."""
    words = text.split()
    out: list[str] = []
    current = ""
    cut = False
    for k, word in enumerate(words):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            out.append(current)
            current = word
        else:
            current = word
        if len(out) == lines:
            cut = True
            current = ""
            break
        while len(current) > width:
            out.append(current[:width])
            current = current[width:]
            if len(out) == lines:
                cut = bool(current) or k + 1 < len(words)
                current = ""
                break
        if len(out) == lines:
            cut = cut or k + 1 < len(words)
            break
    if current and len(out) < lines:
        out.append(current)
    elif current:
        cut = True
    if not out:
        return (text[:width],)
    if cut:
        last = out[-1]
        out[-1] = (last[: width - 1].rstrip() if len(last) >= width else last) + "…"
    return tuple(out)


def _half_disc(x: float, y: float, r: float, *, left: bool) -> str:
    sweep = 0 if left else 1
    return (f"M{_f(x)} {_f(y - r)}A{_f(r)} {_f(r)} 0 0 {sweep} {_f(x)} {_f(y + r)}Z")


def _f(value: float) -> str:
    """A coordinate with at most one decimal: short, stable SVG."""
    text = f"{value:.1f}"
    return "0" if text == "-0.0" else text.removesuffix(".0")


def _shade_classes(top: float) -> tuple[ShadeClass, ...]:
    classes = [ShadeClass(0, 0.0, 0.0, "no loss")]
    if top <= 0:
        return tuple(classes)
    step = nice_ceiling(top / SHADES)
    for k in range(1, SHADES + 1):
        low, high = step * (k - 1), step * k
        classes.append(ShadeClass(k, low, high, f"≤ {compact_number(high)}"))
    return tuple(classes)


def _shade(loss: float, classes: Sequence[ShadeClass]) -> int:
    # a loss below half a currency unit shows as "no loss": the labels would print 0
    if loss < 0.5 or len(classes) == 1:
        return 0
    for c in classes[1:]:
        if loss <= c.high * (1 + 1e-9):
            return c.index
    return classes[-1].index


# -- layout -------------------------------------------------------------------------------


def stage_order(scenario: Scenario) -> list[str]:
    """Declared stages first (in order), then stages only touchpoints name, then NO_STAGE."""
    order = list(scenario.stages or [])
    seen = set(order)
    has_none = False
    for tp in scenario.touchpoints:
        if tp.stage is None:
            has_none = True
        elif tp.stage not in seen:  # validation forbids this with `stages`; stay total anyway
            order.append(tp.stage)
            seen.add(tp.stage)
    return [*order, NO_STAGE] if has_none else order


def slots_per_row(fullest: Sequence[int], limit: int = MAX_SLOTS) -> list[int]:
    """Slots side by side per column, given each column's fullest cell: the widest columns
    wrap into rows until the map is at most `limit` slots wide (or every column is 1)."""
    per_row = list(fullest)
    while sum(per_row) > limit and max(per_row) > 1:
        widest = per_row.index(max(per_row))
        rows = -(-fullest[widest] // per_row[widest])
        # one more row may not shorten the rows (6 in rows of 2 need 3 rows, 4 rows too):
        # add rows until they do
        while -(-fullest[widest] // rows) >= per_row[widest]:
            rows += 1
        per_row[widest] = -(-fullest[widest] // rows)
    return per_row


def build_map(
    scenario: Scenario,
    journey: Journey,
    baseline: Evaluation,
    evaluation: Evaluation,
    ranked: Sequence[tuple[int, str, str]],
) -> JourneyMap | None:
    """Lay out the journey map; `ranked` is (rank, id, name) of the funded improvements.

    Returns None for journeys of more than MAP_LIMIT touchpoints.
    """
    tps = scenario.touchpoints
    if len(tps) > MAP_LIMIT or not tps:
        return None
    stages_present = {tp.stage or NO_STAGE for tp in tps}
    columns_order = [s for s in stage_order(scenario) if s in stages_present]
    column_of = {s: k for k, s in enumerate(columns_order)}

    # lanes: front stage first, each side in order of first appearance along the stages
    along = sorted(range(len(tps)), key=lambda i: (column_of[tps[i].stage or NO_STAGE], i))
    lane_keys: list[tuple[bool, str]] = []
    for i in along:
        key = (tps[i].visible, tps[i].channel or NO_CHANNEL)
        if key not in lane_keys:
            lane_keys.append(key)
    lane_keys.sort(key=lambda k: not k[0])  # stable: keeps appearance order on each side
    lane_of = {k: n for n, k in enumerate(lane_keys)}

    cells: dict[tuple[int, int], list[int]] = {}
    for i in along:
        cell = (column_of[tps[i].stage or NO_STAGE],
                lane_of[(tps[i].visible, tps[i].channel or NO_CHANNEL)])
        cells.setdefault(cell, []).append(i)
    # Each column gets as many slots side by side as its fullest cell needs; when the map
    # would be wider than MAX_SLOTS slots, the widest columns wrap their cells into rows, so
    # the map keeps a readable scale on a page instead of shrinking all its text.
    fullest = [max([len(v) for (c, _), v in cells.items() if c == col] or [1])
               for col in range(len(columns_order))]
    per_row = slots_per_row(fullest)
    lane_rows = [max([-(-len(v) // per_row[c]) for (c, ln), v in cells.items() if ln == lane]
                     or [1])
                 for lane in range(len(lane_keys))]

    columns = []
    x = LANE_LABEL_WIDTH
    for name, count in zip(columns_order, per_row, strict=True):
        columns.append(MapColumn(name, x, count * SLOT_WIDTH))
        x += count * SLOT_WIDTH
    width = x + 8.0

    lanes = []
    y = HEADER_HEIGHT
    visibility_y: float | None = None
    for n, (front, channel) in enumerate(lane_keys):
        if not front and (n == 0 or lane_keys[n - 1][0]):
            visibility_y = y + VISIBILITY_GAP / 2
            y += VISIBILITY_GAP
        lanes.append(MapLane(channel, front, y, LANE_HEIGHT * lane_rows[n]))
        y += LANE_HEIGHT * lane_rows[n]
    height = y + 4.0

    visits0, visits1 = baseline.weighted("visits"), evaluation.weighted("visits")
    loss0, loss1 = baseline.weighted("losses"), evaluation.weighted("losses")
    top_visits = float(max(visits1.max(initial=0.0), visits0.max(initial=0.0)))
    classes = _shade_classes(float(max(loss0.max(initial=0.0), loss1.max(initial=0.0))))
    customers = sum(c.customers for c in journey.personas)
    entry = sum((c.customers * c.entry for c in journey.personas), np.zeros(len(tps)))
    entry_share = entry / customers if customers > 0 else entry
    reachable = np.zeros(len(tps), dtype=bool)
    for chain in journey.personas:
        reachable |= chain.reachable

    acting: dict[str, list[tuple[int, str, str]]] = {}
    for rank, imp_id, imp_name in ranked:
        for effect in scenario.improvement(imp_id).effects:
            users = acting.setdefault(effect.touchpoint, [])
            if all(u[1] != imp_id for u in users):
                users.append((rank, imp_id, imp_name))

    centers: dict[int, Point] = {}
    step: dict[int, tuple[int, int, int]] = {}  # (column, lane, slot): what "back" means
    for (col, lane), members in cells.items():
        cap = per_row[col]
        for slot, i in enumerate(members):
            step[i] = (col, lane, slot)
            row, place = divmod(slot, cap)
            in_row = min(cap, len(members) - row * cap)
            left = columns[col].x + (cap - in_row) * SLOT_WIDTH / 2  # centre a short row
            centers[i] = (left + (place + 0.5) * SLOT_WIDTH,
                          lanes[lane].y + row * LANE_HEIGHT + NODE_TOP)

    nodes = []
    radius: dict[int, float] = {}
    for i, tp in enumerate(tps):
        cx, cy = centers[i]
        v = float(visits1[i])
        r = (MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(v / top_visits)
             if top_visits > 0 and v > 0 else MIN_RADIUS)
        radius[i] = r
        # narrower than a slot, so neighbours' names never touch and edges pass between
        lines = fit_lines(tp.label, SLOT_WIDTH - 2 * NAME_GUTTER, NAME_FONT, bold=True,
                          lines=LABEL_LINES)
        label_y = cy + MAX_RADIUS + 16.0
        loss_y = label_y + 13.5 * len(lines)
        badges = _badges(acting.get(tp.id, []), cx, loss_y + 5.0)
        stage = tp.stage or NO_STAGE
        channel = tp.channel or NO_CHANNEL
        loss_text = f"loss {compact_number(float(loss0[i]))} → {compact_number(float(loss1[i]))}"
        fixes = ", ".join(f"#{rank} {name}" for rank, _, name in acting.get(tp.id, []))
        description = (
            f"{tp.label} ({stage}, {channel}, {'front' if tp.visible else 'back'} stage"
            f"{', moment of truth' if tp.moment_of_truth else ''}): "
            f"visits {compact_number(float(visits0[i]))} → {compact_number(v)}, "
            f"expected loss {compact_number(float(loss0[i]))} → "
            f"{compact_number(float(loss1[i]))}"
            + (f"; improved by {fixes}" if fixes else "")
            + ("" if reachable[i] else "; no customer reaches it"))
        nodes.append(MapNode(
            id=tp.id, name=tp.label, stage=stage, channel=channel, front=tp.visible,
            moment_of_truth=tp.moment_of_truth, reachable=bool(reachable[i]),
            x=round(cx, 1), y=round(cy, 1), r=round(r, 1),
            visits_before=float(visits0[i]), visits_after=v,
            loss_before=float(loss0[i]), loss_after=float(loss1[i]),
            shade_before=_shade(float(loss0[i]), classes),
            shade_after=_shade(float(loss1[i]), classes),
            left_half=_half_disc(cx, cy, r, left=True),
            right_half=_half_disc(cx, cy, r, left=False),
            label_lines=lines, label_y=round(label_y, 1), loss_text=loss_text,
            loss_y=round(loss_y, 1), entry=float(entry_share[i]),
            entry_text=f"start {probability_text(float(entry_share[i]))}"
            if entry_share[i] > 0 else "",
            badges=badges, description=description))

    edges = _edges(width, height, lanes, columns, visibility_y, scenario, journey, evaluation,
                   centers, radius, step, column_of, nodes)
    summary = (
        f"Journey map of {len(tps)} touchpoints in {len(columns)} stages "
        f"({', '.join(c.name for c in columns)}) and {len(lanes)} channel lanes"
        + (f", {sum(1 for ln in lanes if not ln.front)} of them back stage" if visibility_y
           else "")
        + f", with {len(edges)} possible next steps. Circle area shows expected visits with "
        "the plan; the left half is shaded by expected loss before the plan and the right "
        "half with it; numbered badges are the funded improvements by rank. The touchpoint "
        "table below gives the same numbers.")
    return JourneyMap(
        width=round(width, 1), height=round(height, 1), columns=tuple(columns),
        lanes=tuple(lanes), visibility_y=visibility_y, nodes=tuple(nodes), edges=edges,
        shades=classes, max_visits=top_visits, summary=summary)


def _badges(acting: Sequence[tuple[int, str, str]], cx: float, y: float) -> tuple[MapBadge, ...]:
    shown = list(acting[:BADGES_SHOWN])
    hidden = len(acting) - len(shown)
    if hidden == 1:  # "+1" takes the place of the badge it hides: show that one instead
        shown, hidden = list(acting), 0
    count = len(shown) + (1 if hidden else 0)
    gap = 3.0
    total = count * BADGE_WIDTH + (count - 1) * gap
    x0 = cx - total / 2
    badges = [MapBadge(rank, imp_id, name, round(x0 + k * (BADGE_WIDTH + gap), 1), round(y, 1),
                       str(rank))
              for k, (rank, imp_id, name) in enumerate(shown)]
    if hidden:
        rest = acting[len(shown):]
        badges.append(MapBadge(0, "", ", ".join(f"#{r} {n}" for r, _, n in rest),
                               round(x0 + len(shown) * (BADGE_WIDTH + gap), 1), round(y, 1),
                               f"+{hidden}"))
    return tuple(badges)


def _edges(
    width: float,
    height: float,
    lanes: Sequence[MapLane],
    columns: Sequence[MapColumn],
    visibility_y: float | None,
    scenario: Scenario,
    journey: Journey,
    evaluation: Evaluation,
    centers: dict[int, Point],
    radius: dict[int, float],
    step: dict[int, tuple[int, int, int]],
    column_of: dict[str, int],
    nodes: Sequence[MapNode],
) -> tuple[MapEdge, ...]:
    tps = scenario.touchpoints
    ids = [tp.id for tp in tps]
    n = len(ids)
    mf, _, md = journey.multipliers(evaluation.selection)
    weight = np.zeros((n, n))  # Σ_q N_q v_qt P_qtu: customers' visits at t weighted by P
    flow = np.zeros((n, n))  # ... times retention at t: customers who actually go on
    visits = np.zeros(n)
    entry_weight = sum((c.customers * c.entry for c in journey.personas), np.zeros(n))
    per_persona: dict[tuple[int, int], list[str]] = {}
    for chain, outcome in zip(journey.personas, evaluation.personas, strict=True):
        coo = chain.transition.tocoo()
        retention = 1.0 - chain.failure * mf * chain.dropout * md
        visits += chain.customers * outcome.visits
        for t, u, p in zip(coo.row, coo.col, coo.data, strict=True):
            if p <= 0:
                continue
            weight[t, u] += chain.customers * outcome.visits[t] * p
            flow[t, u] += chain.customers * outcome.visits[t] * retention[t] * p
            per_persona.setdefault((int(t), int(u)), []).append(
                f"{chain.label} {probability_text(float(p))}")
    pairs = sorted(per_persona, key=lambda tu: (column_of[tps[tu[0]].stage or NO_STAGE],
                                                tu[0], tu[1]))
    loops = _loop_edges(n, pairs, [i for i in range(n) if entry_weight[i] > 0])
    top_flow = float(flow.max(initial=0.0))
    personas = len(journey.personas)

    obstacles = Obstacles(width, height, text_boxes(nodes, lanes, columns, visibility_y, width),
                          [(nd.x, nd.y, nd.r + (4.0 if nd.moment_of_truth else 0.0))
                           for nd in nodes])
    # below its name, loss and badges: where a step down to a later lane leaves a touchpoint
    feet = {k: (nd.badges[0].y + BADGE_HEIGHT if nd.badges else nd.loss_y + 3.0) + 4.0
            for k, nd in enumerate(nodes)}
    routes = []
    for t, u in pairs:
        # back: a step that closes a loop, or one to an earlier stage
        back = (t, u) in loops or step[u][0] < step[t][0]
        routes.append((t, u, back, _route(t, u, centers, radius, feet, obstacles, back)))
    # edge labels last: clear of every text, label and node, and of the other edges
    taken = [*obstacles.boxes,
             *(Box(nd.x - nd.r - 2, nd.y - nd.r - 2, nd.x + nd.r + 2, nd.y + nd.r + 2)
               for nd in nodes)]
    lines = np.zeros((obstacles.rows, obstacles.cols))  # how many edges run through a cell
    own_cells = []
    for *_, route in routes:
        r, c, inside = obstacles.cells(route.points)
        cells = np.unique(np.stack([r[inside], c[inside]]), axis=1)
        lines[cells[0], cells[1]] += 1
        own_cells.append(cells)
    edges = []
    for k, (t, u, back, route) in enumerate(routes):
        if visits[t] > 0:
            probability = weight[t, u] / visits[t]
        else:  # nobody gets there with the plan: show the plain average of the personas
            probability = float(np.mean([c.transition[t, u] for c in journey.personas]))
        label = probability_text(probability)
        lines[own_cells[k][0], own_cells[k][1]] -= 1  # its own edge may run under it
        box = _place_label(label, route.points, np.array(
            [[b.x0, b.y0, b.x1, b.y1] for b in taken]), lines, obstacles)
        lines[own_cells[k][0], own_cells[k][1]] += 1
        taken.append(box)
        share = flow[t, u] / top_flow if top_flow > 0 else 0.0
        description = (f"{tps[t].label} → {tps[u].label}: {probability_text(probability)} go on"
                       + (f" ({'; '.join(per_persona[(t, u)])})" if personas > 1 else "")
                       + f"; about {compact_number(float(flow[t, u]))} customers with the plan")
        edges.append(MapEdge(
            source=ids[t], target=ids[u], probability=float(probability),
            flow=float(flow[t, u]), path=route.path,
            width=round(EDGE_MIN_WIDTH + (EDGE_MAX_WIDTH - EDGE_MIN_WIDTH) * share, 2),
            label=label, label_x=round((box.x0 + box.x1) / 2, 1),
            label_y=round(box.y1 - DESCENT * EDGE_LABEL_FONT - 1, 1),
            back=back, description=description, routed=route.routed))
    return tuple(edges)


def _loop_edges(
    n: int, pairs: Sequence[tuple[int, int]], starts: Sequence[int]
) -> set[tuple[int, int]]:
    """The edges that close a cycle: back edges of a depth-first search from the entries
    (then from every other touchpoint), successors in scenario order, so it is stable."""
    successors: dict[int, list[int]] = {}
    for t, u in sorted(pairs):
        successors.setdefault(t, []).append(u)
    state = [0] * n  # 0 unseen, 1 on the current path, 2 done
    loops: set[tuple[int, int]] = set()
    for root in [*starts, *range(n)]:
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, iter(successors.get(root, [])))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                loops.add((node, child))
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(successors.get(child, []))))
    return loops


def _route(t: int, u: int, centers: dict[int, Point], radius: dict[int, float],
           feet: dict[int, float], obstacles: Obstacles, back: bool) -> Route:
    """The edge from touchpoint t to u, around the map's texts and other nodes."""
    a, b = centers[t], centers[u]
    if t == u:  # a retry loop on the same touchpoint: a small loop beside it, on the right
        x, y = a
        r = radius[t]
        loop = ((x + r * 0.8, y - r * 0.6), (x + r + 30, y - r - 14), (x + r + 30, y + r + 14),
                (x + r * 0.8 + 3, y + r * 0.6))
        return Route(curve_path(loop), sample_curve(loop), routed=False)
    if b[1] - radius[u] > feet[t] + 12:  # down to a later lane: leave below the texts
        return route_edge((a[0], feet[t]), 0.0, b, radius[u] + 4.0, obstacles, (t, u), back)
    # room for the arrowhead at the target
    return route_edge(a, radius[t] + 1.5, b, radius[u] + 4.0, obstacles, (t, u), back)


# the texts of the map as drawn by journey_map.html.j2: (font size, bold) of each kind
NAME_FONT, LOSS_FONT, ENTRY_FONT, COLUMN_FONT, LANE_FONT, SIDE_FONT = (
    12.0, 10.5, 10.0, 13.0, 12.0, 10.0)
ASCENT, DESCENT = 0.95, 0.25  # of a line of text, in em, around its baseline


def _text_box(x: float, baseline: float, text: str, size: float, *, bold: bool = False,
              anchor: str = "middle") -> Box:
    width = text_width(text, size, bold=bold)
    left = {"middle": x - width / 2, "end": x - width}.get(anchor, x)
    return Box(left, baseline - ASCENT * size, left + width, baseline + DESCENT * size)


def text_boxes(nodes: Sequence[MapNode], lanes: Sequence[MapLane],
               columns: Sequence[MapColumn], visibility_y: float | None,
               width: float) -> list[Box]:
    """Boxes around every text and badge of the map (not the edge labels), as the template
    places them, with the widths estimated generously."""
    boxes = [_text_box(c.center, 22.0, c.name.capitalize(), COLUMN_FONT, bold=True)
             for c in columns]
    for lane in lanes:
        boxes.append(_text_box(8.0, lane.center - 2, lane.name, LANE_FONT, bold=True,
                               anchor="start"))
        boxes.append(_text_box(8.0, lane.center + 12, "front stage", SIDE_FONT,
                               anchor="start"))
    if visibility_y is not None:
        boxes.append(_text_box(width - 8, visibility_y - 4, "line of visibility", SIDE_FONT,
                               anchor="end"))
    for nd in nodes:
        # one text of one or two lines: a browser boxes them together
        lines = [_text_box(nd.x, nd.label_y + 13.5 * k, line, NAME_FONT, bold=True)
                 for k, line in enumerate(nd.label_lines)]
        boxes.append(Box(min(b.x0 for b in lines), lines[0].y0, max(b.x1 for b in lines),
                         lines[-1].y1))
        boxes.append(_text_box(nd.x, nd.loss_y, nd.loss_text, LOSS_FONT))
        if nd.entry_text:
            boxes.append(_text_box(nd.x, nd.y - nd.r - (11 if nd.moment_of_truth else 7),
                                   nd.entry_text, ENTRY_FONT))
        boxes.extend(Box(b.x, b.y, b.x + BADGE_WIDTH, b.y + BADGE_HEIGHT) for b in nd.badges)
    return boxes


# on the edge first, then just above or below it, then beside it
_LABEL_OFFSETS = ((0.0, 0.0), (0.0, -11.0), (0.0, 11.0), (-20.0, 0.0), (20.0, 0.0),
                  (-34.0, 0.0), (34.0, 0.0))
EDGE_LABEL_FONT = 10.5


def _place_label(text: str, points: np.ndarray, taken: np.ndarray, lines: np.ndarray,
                 obstacles: Obstacles) -> Box:
    """A box for an edge label on its edge (or beside it) that overlaps no text, label or
    node (`taken`, rows x0 y0 x1 y1) and no other edge (`lines`: edges per grid cell), or
    else the one that overlaps least."""
    half_w = text_width(text, EDGE_LABEL_FONT) / 2 + 2
    half_h = ((ASCENT + DESCENT) * EDGE_LABEL_FONT + 2) / 2
    best: tuple[float, Box] | None = None
    for share in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85, 0.1, 0.9):
        x, y = (float(v) for v in points[min(int(share * len(points)), len(points) - 1)])
        for ox, oy in _LABEL_OFFSETS:
            box = Box(x + ox - half_w, y + oy - half_h, x + ox + half_w, y + oy + half_h)
            width = np.minimum(box.x1, taken[:, 2]) - np.maximum(box.x0, taken[:, 0])
            height = np.minimum(box.y1, taken[:, 3]) - np.maximum(box.y0, taken[:, 1])
            # covering a text or a node is far worse than covering another edge
            overlap = 1000.0 * float((width.clip(0) * height.clip(0)).sum())
            r, c, inside = obstacles.cells(np.array([[box.x0, box.y0], [box.x1, box.y1]]))
            if not inside.all():
                overlap += 1e9  # out of the map
            overlap += 20.0 * float(lines[r[0]:r[1] + 1, c[0]:c[1] + 1].sum())
            if overlap == 0:
                return box
            if best is None or overlap < best[0]:
                best = (overlap, box)
    assert best is not None
    return best[1]
