"""Routing the journey map's edges around its texts and nodes.

An edge is first tried as a cubic curve between its two touchpoints, straight and then
bent more and more to either side; the first that crosses no text and no other node is
taken. When none is clear (dense maps: a step to a touchpoint two lanes away, past other
touchpoints' names), the edge is routed on a grid around the obstacles: the shortest
path by Dijkstra's algorithm (`scipy.sparse.csgraph`) in a window around its ends, pulled
straight where the way is clear and drawn with rounded corners. Only if no way exists is
the least crossing curve kept.

Everything is in SVG user units. Texts are boxes from the same width estimates the
charts use (`cxplan.report.textwidth`); the browser tests check the result in Chromium.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

Point = tuple[float, float]
Curve = tuple[Point, Point, Point, Point]

CELL = 5.0  # grid step of the router
WINDOW = 100.0  # the router searches this far around the box of an edge's two ends
# cells the router may search per map, over all its edges: a large dense map routes its
# first edges on the grid and draws the rest as their least crossing curves, in bounded
# time (a count, not a clock, so the same plan always gives the same map)
ROUTING_BUDGET = 1_500_000
CLEARANCE = 2.5  # edges keep this far from texts and other nodes
CROWDING = 0.6  # extra cost per unit where an earlier edge already runs (spreads edges)
CORNER = 10.0  # radius of the rounded corners of routed edges
SPACING = 2.5  # distance between the points sampled along an edge to check it
NEAR = 12  # up to this many points near an obstacle on the raster are checked exactly

# a straight-ish curve first, then bends of growing size to either side
BENDS = (0.0, 28.0, -28.0, 56.0, -56.0, 90.0, -90.0, 130.0, -130.0)


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle (a text, a badge)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)

    def overlap_area(self, other: Box) -> float:
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        height = min(self.y1, other.y1) - max(self.y0, other.y0)
        return width * height if width > 0 and height > 0 else 0.0


@dataclass(frozen=True)
class Route:
    """One edge: SVG path data, and points along it (for checks and label placement)."""

    path: str
    points: np.ndarray  # shape (n, 2), from the start to the end, SPACING apart or less
    routed: bool  # True: found on the grid (a polyline), False: a cubic curve


class Obstacles:
    """The map's texts (boxes) and nodes (discs) that edges must not cross, rasterized once
    on the router's grid (CELL units), with a margin of CLEARANCE: a sampled point or a
    grid cell is looked up, not tested against every text."""

    def __init__(self, width: float, height: float, boxes: Sequence[Box],
                 discs: Sequence[tuple[float, float, float]]) -> None:
        self.width, self.height = width, height
        self.boxes = list(boxes)
        self.box_array = np.array([[b.x0, b.y0, b.x1, b.y1] for b in boxes],
                                  dtype=float).reshape(-1, 4)
        self.disc_array = np.array(discs, dtype=float).reshape(-1, 3)
        self.rows, self.cols = math.ceil(height / CELL), math.ceil(width / CELL)
        self.texts = np.zeros((self.rows, self.cols), dtype=bool)
        pad = CLEARANCE + CELL / 2  # a cell is taken if its centre is this close
        for box in boxes:
            self.texts[self._span(box.y0 - pad, box.y1 + pad, self.rows),
                       self._span(box.x0 - pad, box.x1 + pad, self.cols)] = True
        self.disc = np.full((self.rows, self.cols), -1, dtype=int)  # the node a cell is in
        for k, (cx, cy, r) in enumerate(discs):
            rows = self._span(cy - r - pad, cy + r + pad, self.rows)
            cols = self._span(cx - r - pad, cx + r + pad, self.cols)
            ys = (np.arange(rows.start, rows.stop) + 0.5) * CELL
            xs = (np.arange(cols.start, cols.stop) + 0.5) * CELL
            near = (xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2 < (r + pad) ** 2
            self.disc[rows, cols][near] = k
        self.crowd = np.zeros((self.rows, self.cols))  # where edges routed so far run
        self.budget = ROUTING_BUDGET  # grid cells the router may still search

    @staticmethod
    def _span(low: float, high: float, count: int) -> slice:
        return slice(min(max(int(low // CELL), 0), count), min(max(int(high // CELL) + 1, 0),
                                                              count))

    def cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, columns, inside the map) of the cells the points fall in."""
        r = np.floor(points[:, 1] / CELL).astype(int)
        c = np.floor(points[:, 0] / CELL).astype(int)
        inside = (r >= 0) & (r < self.rows) & (c >= 0) & (c < self.cols)
        return r.clip(0, self.rows - 1), c.clip(0, self.cols - 1), inside

    def hits(self, points: np.ndarray, ends: Sequence[int] = ()) -> tuple[int, int]:
        """(sampled points within CLEARANCE of another node, ... of a text, or out of the
        map); `ends`: the nodes the edge joins. Exact, against the obstacles near the
        points only."""
        r, c, inside = self.cells(points)
        disc = self.disc[r, c]
        near_node = int(((disc >= 0) & ~np.isin(disc, list(ends)) & inside).sum())
        near_text = int((self.texts[r, c] | ~inside).sum())
        if near_node + near_text > NEAR:
            return near_node, near_text  # the raster's margins are wider, but not that much
        if near_node + near_text == 0:
            return 0, 0  # clear within the raster's margins is clear
        low, high = points.min(axis=0) - CLEARANCE, points.max(axis=0) + CLEARANCE
        b = self.box_array
        b = b[(b[:, 0] < high[0]) & (b[:, 2] > low[0]) & (b[:, 1] < high[1]) & (b[:, 3] > low[1])]
        x, y = points[:, 0:1], points[:, 1:2]
        pad = CLEARANCE
        in_text = ((x > b[:, 0] - pad) & (x < b[:, 2] + pad)
                   & (y > b[:, 1] - pad) & (y < b[:, 3] + pad)).any(axis=1)
        outside = ((points[:, 0] < 0) | (points[:, 0] > self.width) | (points[:, 1] < 0)
                   | (points[:, 1] > self.height))
        d = self.disc_array
        others = np.ones(len(d), dtype=bool)
        others[list(ends)] = False
        d = d[others]
        in_node = ((x - d[:, 0]) ** 2 + (y - d[:, 1]) ** 2 < (d[:, 2] + pad) ** 2).any(axis=1)
        return int(in_node.sum()), int((in_text | outside).sum())

    def blocked(self, rows: slice, cols: slice, ends: Sequence[int]) -> np.ndarray:
        """Cells of the window an edge may not enter: near a text, or near a node other
        than its own ends."""
        disc = self.disc[rows, cols]
        mask: np.ndarray = self.texts[rows, cols] | ((disc >= 0) & ~np.isin(disc, list(ends)))
        return mask

    def add(self, points: np.ndarray) -> None:
        """An edge is drawn here: later edges keep a little away from it."""
        r, c, inside = self.cells(points)
        self.crowd[r[inside], c[inside]] = 1.0


def route_edge(a: Point, ra: float, b: Point, rb: float, obstacles: Obstacles,
               ends: tuple[int, int], back: bool) -> Route:
    """The edge from a node at `a` (radius `ra`) to one at `b` (radius `rb`, the arrowhead
    needs room): a clear curve, else a clear grid route, else the least crossing curve.
    `ends` are the two nodes' discs in `obstacles`; loops back (`back`) bend first."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    nx_, ny_ = -dy / length, dx / length  # unit normal to the chord
    bends = list(BENDS)
    if back:  # loops back bend from the start, upwards first, clear of the forward edges
        bends = [v for v in bends if v != 0.0]
        bends.sort(key=lambda v: (abs(v), (ny_ * v) > 0))
    best: tuple[tuple[int, int], Route] | None = None
    for bend in bends:
        c1 = (a[0] + dx / 3 + nx_ * bend, a[1] + dy / 3 + ny_ * bend)
        c2 = (a[0] + 2 * dx / 3 + nx_ * bend, a[1] + 2 * dy / 3 + ny_ * bend)
        curve = (_toward(a, ra, c1), c1, c2, _toward(b, rb, c2))
        points = sample_curve(curve)
        nodes, texts = obstacles.hits(points, ends)
        found = Route(curve_path(curve), points, routed=False)
        if nodes == texts == 0:
            obstacles.add(points)
            return found
        if best is None or (nodes * 4 + texts, bend != 0) < (best[0][0] * 4 + best[0][1], True):
            best = ((nodes, texts), found)
    assert best is not None
    routed = _grid_route(a, ra, b, rb, obstacles, ends)
    chosen = routed if routed is not None else best[1]
    obstacles.add(chosen.points)
    return chosen


def _grid_route(a: Point, ra: float, b: Point, rb: float, obstacles: Obstacles,
                ends: tuple[int, int]) -> Route | None:
    o = obstacles
    rows = o._span(min(a[1], b[1]) - WINDOW, max(a[1], b[1]) + WINDOW, o.rows)
    cols = o._span(min(a[0], b[0]) - WINDOW, max(a[0], b[0]) + WINDOW, o.cols)
    height, width = rows.stop - rows.start, cols.stop - cols.start
    if height < 2 or width < 2 or height * width > o.budget:
        return None
    o.budget -= height * width
    blocked = o.blocked(rows, cols, ends)
    x_lo, y_lo = cols.start * CELL, rows.start * CELL

    def cell(p: Point) -> tuple[int, int]:
        return (min(max(int((p[1] - y_lo) // CELL), 0), height - 1),
                min(max(int((p[0] - x_lo) // CELL), 0), width - 1))

    start, goal = cell(a), cell(b)
    for r, c in (start, goal):  # the ends may lie in a margin: let the edge out of it
        blocked[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = False
    cost = 1.0 + CROWDING * o.crowd[rows, cols]
    index = np.arange(height * width).reshape(height, width)
    sources, targets, weights = [], [], []
    for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = max(0, -di), height - max(0, di)
        c0, c1 = max(0, -dj), width - max(0, dj)
        here = (slice(r0, r1), slice(c0, c1))
        there = (slice(r0 + di, r1 + di), slice(c0 + dj, c1 + dj))
        ok = ~blocked[here] & ~blocked[there]
        w = (cost[here] + cost[there]) / 2 * CELL * math.hypot(di, dj)
        for u, v in ((index[here][ok], index[there][ok]), (index[there][ok], index[here][ok])):
            sources.append(u)
            targets.append(v)
            weights.append(w[ok])
    graph = csr_matrix((np.concatenate(weights), (np.concatenate(sources),
                                                   np.concatenate(targets))),
                       shape=(height * width, height * width))
    distances, previous = dijkstra(graph, indices=index[start], return_predecessors=True)
    if not math.isfinite(distances[index[goal]]):
        return None
    chain = [int(index[goal])]
    while chain[-1] != index[start]:
        chain.append(int(previous[chain[-1]]))
    chain.reverse()
    cells = [(x_lo + (k % width + 0.5) * CELL, y_lo + (k // width + 0.5) * CELL)
             for k in chain]
    cells[0], cells[-1] = a, b
    corners = _pull_straight(cells, lambda p, q: _clear(p, q, blocked, x_lo, y_lo))
    # start and end on the nodes' rims
    corners[0] = _toward(a, ra, corners[1])
    corners[-1] = _toward(b, rb, corners[-2])
    path, points = _rounded(corners)
    return Route(path, points, routed=True)


def _clear(p: Point, q: Point, blocked: np.ndarray, x_lo: float, y_lo: float) -> bool:
    """The straight way from p to q crosses no blocked cell."""
    steps = max(2, int(math.hypot(q[0] - p[0], q[1] - p[1]) / (CELL / 2)) + 1)
    t = np.linspace(0.0, 1.0, steps)
    r = ((p[1] + (q[1] - p[1]) * t - y_lo) // CELL).astype(int)
    c = ((p[0] + (q[0] - p[0]) * t - x_lo) // CELL).astype(int)
    rows, cols = blocked.shape
    if (r < 0).any() or (r >= rows).any() or (c < 0).any() or (c >= cols).any():
        return False
    return not bool(blocked[r, c].any())


def _pull_straight(cells: Sequence[Point], clear: Callable[[Point, Point], bool]) -> list[Point]:
    """Fewer corners: from each corner, on along the cells while the way stays straight and
    clear."""
    corners = [cells[0]]
    k = 0
    while k < len(cells) - 1:
        far = k + 1
        while far + 1 < len(cells) and clear(cells[k], cells[far + 1]):
            far += 1
        corners.append(cells[far])
        k = far
    return corners


def _rounded(corners: Sequence[Point]) -> tuple[str, np.ndarray]:
    """A polyline with its corners rounded (quadratic curves): path data and samples."""
    parts = [f"M{_f(corners[0][0])} {_f(corners[0][1])}"]
    points: list[np.ndarray] = []
    here = corners[0]
    for k in range(1, len(corners) - 1):
        p, c, q = corners[k - 1], corners[k], corners[k + 1]
        r = min(CORNER, math.dist(p, c) / 2, math.dist(c, q) / 2)
        entry = _toward(c, r, p)
        leave = _toward(c, r, q)
        parts.append(f"L{_f(entry[0])} {_f(entry[1])}Q{_f(c[0])} {_f(c[1])} "
                     f"{_f(leave[0])} {_f(leave[1])}")
        points.append(_line(here, entry))
        t = np.linspace(0.0, 1.0, 6)[:, None]
        points.append((1 - t) ** 2 * np.array(entry) + 2 * (1 - t) * t * np.array(c)
                      + t ** 2 * np.array(leave))
        here = leave
    end = corners[-1]
    parts.append(f"L{_f(end[0])} {_f(end[1])}")
    points.append(_line(here, end))
    return "".join(parts), np.vstack(points)


def _line(p: Point, q: Point) -> np.ndarray:
    steps = max(2, int(math.dist(p, q) / SPACING) + 1)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    line: np.ndarray = (1 - t) * np.array(p) + t * np.array(q)
    return line


def sample_curve(curve: Curve) -> np.ndarray:
    """Points along a cubic curve, about SPACING apart."""
    p0, p1, p2, p3 = (np.array(p) for p in curve)
    rough = math.dist(curve[0], curve[1]) + math.dist(curve[1], curve[2]) + math.dist(
        curve[2], curve[3])
    t = np.linspace(0.0, 1.0, max(8, int(rough / SPACING) + 1))[:, None]
    u = 1.0 - t
    points: np.ndarray = u ** 3 * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t ** 3 * p3
    return points


def curve_path(curve: Curve) -> str:
    p0, c1, c2, p3 = curve
    return (f"M{_f(p0[0])} {_f(p0[1])}C{_f(c1[0])} {_f(c1[1])} {_f(c2[0])} {_f(c2[1])} "
            f"{_f(p3[0])} {_f(p3[1])}")


def _toward(center: Point, r: float, other: Point) -> Point:
    """The point on the circle (center, r) in the direction of `other`."""
    dx, dy = other[0] - center[0], other[1] - center[1]
    length = math.hypot(dx, dy) or 1.0
    return center[0] + dx / length * r, center[1] + dy / length * r


def _f(value: float) -> str:
    """A coordinate with at most one decimal: short, stable SVG."""
    text = f"{value:.1f}"
    return "0" if text == "-0.0" else text.removesuffix(".0")
