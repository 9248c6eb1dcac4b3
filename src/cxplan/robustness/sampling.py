"""Draws of a scenario's uncertain inputs (docs/model.md, "Uncertain inputs").

A sampler gives points in the unit cube, one axis per independent draw: an ungrouped
distribution, a group (its members take the same quantile), or one component of a
Dirichlet (drawn as independent gamma variables, normalized with the remainder's). The
points are made in the calling process from the seed alone, so a run gives the same draws
whatever executes them. `random` is plain Monte Carlo; `lhs` (Latin hypercube) and `sobol`
(scrambled Sobol' points) come from `scipy.stats.qmc` and cover the cube more evenly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxplan.errors import UsageError
from cxplan.scenario.source import Path_
from cxplan.scenario.uncertainty import Uncertainty

SAMPLERS = ("random", "lhs", "sobol")
EDGE = 1e-12  # points are kept this far inside (0, 1): a quantile at 0 or 1 may be infinite


@dataclass(frozen=True)
class Draws:
    """`values[d, k]`: the value at `locations[k]` in draw d."""

    locations: tuple[Path_, ...]
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def draw(self, d: int) -> dict[Path_, float]:
        """The values of draw d, by location (what `Scenario.drawn` takes)."""
        return dict(zip(self.locations, self.values[d].tolist(), strict=True))


def seeds(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent streams for the sample and for the fresh (out-of-sample) draws."""
    first, second = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(first), np.random.default_rng(second)


def unit_points(count: int, dimensions: int, sampler: str,
                rng: np.random.Generator) -> np.ndarray:
    """`count` points in the open unit cube of `dimensions` axes."""
    if sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {sampler!r}: use one of {', '.join(SAMPLERS)}")
    if dimensions == 0:
        return np.zeros((count, 0))
    if sampler == "random":
        points = rng.random((count, dimensions))
    else:
        from scipy.stats import qmc

        engine = (qmc.LatinHypercube(d=dimensions, seed=rng) if sampler == "lhs"
                  else qmc.Sobol(d=dimensions, scramble=True, seed=rng))
        if sampler == "sobol":
            import warnings

            with warnings.catch_warnings():  # a count not a power of 2: said by `robust`
                warnings.simplefilter("ignore", UserWarning)
                points = engine.random(count)
        else:
            points = engine.random(count)
    return np.clip(points, EDGE, 1 - EDGE)


def axes(uncertainty: Uncertainty) -> int:
    """How many independent axes the draws of `uncertainty` take."""
    groups = {v.distribution.group for v in uncertainty.values if v.distribution.group}
    single = sum(1 for v in uncertainty.values if not v.distribution.group)
    parts = sum(len(d.alphas) + (1 if d.rest > 0 else 0) for d in uncertainty.dirichlets)
    return single + len(groups) + parts


def draws_of(uncertainty: Uncertainty, points: np.ndarray) -> Draws:
    """The values at every uncertain location for each point of the unit cube."""
    from scipy import stats

    count = points.shape[0]
    columns: list[np.ndarray] = []
    axis = 0
    group_axis: dict[str, int] = {}
    for value in uncertainty.values:
        name = value.distribution.group
        if name:
            if name not in group_axis:
                group_axis[name] = axis
                axis += 1
            u = points[:, group_axis[name]]
        else:
            u = points[:, axis]
            axis += 1
        columns.append(value.distribution.quantiles(u))
    for dirichlet in uncertainty.dirichlets:
        alphas = [*dirichlet.alphas, *([dirichlet.rest] if dirichlet.rest > 0 else [])]
        parts = np.column_stack([stats.gamma(a).ppf(points[:, axis + k])
                                 for k, a in enumerate(alphas)])
        axis += len(alphas)
        total = parts.sum(axis=1, keepdims=True)
        shares = np.divide(parts, total, out=np.full_like(parts, 1 / len(alphas)),
                           where=total > 0)
        columns.extend(shares[:, k] for k in range(len(dirichlet.alphas)))
    values = np.column_stack(columns) if columns else np.zeros((count, 0))
    return Draws(tuple(uncertainty.locations), values)


def sample(uncertainty: Uncertainty, count: int, sampler: str,
           rng: np.random.Generator) -> Draws:
    """`count` draws of every uncertain input."""
    return draws_of(uncertainty, unit_points(count, axes(uncertainty), sampler, rng))
