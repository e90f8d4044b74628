"""SMAA-2 (Lahdelma & Salminen 2001), vectorised with numpy.

Stochastic multicriteria acceptability analysis treats both the criterion values and the weights
as uncertain. Given draws of scores (samples x rows x criteria) and of weights (samples x
criteria), with an alternative's value the weighted mean of its scores (the best of its rows, for
a front-end scored on several backends), it gives per alternative:

- rank-acceptability indices b_i^r: the share of draws in which it ranks r-th;
- the central weight vector w_i^c: the mean (normalised) weights of the draws in which it ranks
  first, "the typical weights under which it wins";
- the confidence factor p_i^c: the share of score draws in which it ranks first when the weights
  are its central weights;
- pairwise winning indices c_ik: the share of draws in which it ranks above k (c_ik + c_ki = 1).

Ties go to the lower index, the engine's ranking order. Everything is a pure function of its
arrays and of a seeded numpy Generator: the same inputs give the same numbers.
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray

MAX_REJECTION_ROUNDS = 64


def truncated_normal(
    mean: FloatArray,
    sd: FloatArray,
    rng: np.random.Generator,
    low: float,
    high: float,
    samples: int | None = None,
) -> FloatArray:
    """Draws (samples x cells) of N(mean, sd) truncated to [low, high], elementwise.

    `sd` is per cell; `mean` per cell (then `samples` says how many draws) or per draw (samples x
    cells). Rejection: only what fell outside is redrawn; an sd of 0 gives the mean, clipped."""
    mean = np.asarray(mean, dtype=float)
    sd = np.asarray(sd, dtype=float)
    cells = sd.shape[-1]
    per_cell = mean.ndim == 1
    shape = (samples if samples is not None else 1, cells) if per_cell else mean.shape
    out = rng.standard_normal(shape)
    out *= sd
    out += mean
    flat = out.reshape(-1)
    bad = np.flatnonzero((flat < low) | (flat > high))
    if bad.size:
        bad = bad[sd[bad % cells] > 0]
    flat_mean = mean if per_cell else mean.reshape(-1)
    for _ in range(MAX_REJECTION_ROUNDS):
        if bad.size == 0:
            break
        column = bad % cells
        centre = flat_mean[column] if per_cell else flat_mean[bad]
        redraw = centre + sd[column] * rng.standard_normal(bad.size)
        flat[bad] = redraw
        bad = bad[(redraw < low) | (redraw > high)]
    np.clip(out, low, high, out=out)
    return out


def sample_scores(
    mean: FloatArray,
    sd: FloatArray,
    own_sd: FloatArray,
    parent: np.ndarray,
    rng: np.random.Generator,
    samples: int,
    low: float = 0.0,
    high: float = 5.0,
    active: np.ndarray | None = None,
) -> FloatArray:
    """Score draws (samples x rows x criteria).

    A cell with `parent` -1 is drawn on its own from a truncated normal (mean, sd); a cell whose
    `parent` names another row (a front-end's inherited prior) moves with that row's draw: the
    parent's draw plus this cell's offset from it, plus its own noise (own_sd). Cells without any
    spread, and criteria not `active` (weighted 0 in every draw), keep their mean and cost no
    draws."""
    rows, cols = mean.shape
    draws = np.empty((samples, rows, cols))
    draws[:] = mean
    flat = draws.reshape(samples, rows * cols)
    live = np.ones(rows * cols, dtype=bool) if active is None else np.tile(active, rows)
    independent = (parent < 0).reshape(-1)
    spread = sd.reshape(-1)
    free = np.flatnonzero(independent & (spread > 0) & live)
    if free.size:
        flat[:, free] = truncated_normal(
            mean.reshape(-1)[free], spread[free], rng, low, high, samples
        )
    child = np.flatnonzero(~independent & live)
    if child.size:
        parents = parent.reshape(-1)[child] * cols + child % cols
        offset = mean.reshape(-1)[child] - mean.reshape(-1)[parents]
        centre = flat[:, parents] + offset
        own = own_sd.reshape(-1)[child]
        noisy = own > 0
        if noisy.any():
            centre[:, noisy] = truncated_normal(centre[:, noisy], own[noisy], rng, low, high)
        flat[:, child] = np.clip(centre, low, high)
    return draws


def nearby_priorities(
    answered: FloatArray, spread: float, rng: np.random.Generator, samples: int
) -> FloatArray:
    """Priorities drawn uniformly within +/- spread of the answers, kept in 0-5."""
    noise = rng.uniform(-spread, spread, (samples, answered.shape[0]))
    return np.clip(answered + noise, 0.0, 5.0)


def any_priorities(criteria: int, rng: np.random.Generator, samples: int) -> FloatArray:
    """No preference information: every priority uniform in 0-5."""
    return rng.uniform(0.0, 5.0, (samples, criteria))


def ranks(totals: FloatArray) -> np.ndarray:
    """Rank (0 = best) of each alternative in each row of totals; ties go to the lower index."""
    order = np.argsort(-totals, axis=-1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(totals.shape[-1]), axis=-1)
    return out


class Indices(NamedTuple):
    acceptability: FloatArray
    """alternatives x ranks"""
    central_weights: FloatArray
    """alternatives x criteria, normalised to sum 1; NaN for one that never ranks first"""
    confidence: FloatArray
    """alternatives; NaN for one that never ranks first"""
    pairwise: FloatArray
    """alternatives x alternatives: share of draws where the row ranks above the column (0 on
    the diagonal)"""
    mean_weights: FloatArray
    """criteria: the mean normalised weights over all draws (what central weights lean from)"""


def _choices(weights: FloatArray, choice: FloatArray, starts: np.ndarray) -> np.ndarray:
    """Per draw and alternative, the row it is judged on (samples x alternatives): the best of
    its rows by the `choice` scores (rows x criteria) under that draw's weights, as the engine
    picks a front-end's backend from the scores it knows, not from scores it cannot see."""
    known = weights @ choice.T
    bounds = [*starts.tolist(), choice.shape[0]]
    return np.stack(
        [lo + np.argmax(known[:, lo:hi], axis=1) for lo, hi in pairwise(bounds)],
        axis=1,
    )


def values(
    scores: FloatArray,
    weights: FloatArray,
    starts: np.ndarray,
    choice: FloatArray | None = None,
) -> FloatArray:
    """Each alternative's value (samples x alternatives): the normalised weighted mean of its
    scores on its row (`choice` picks it per draw, see `_choices`; without it, the best row).
    `scores` is rows x criteria or samples x rows x criteria; `weights` samples x criteria, or
    one weight vector for every draw."""
    if weights.ndim == 1:
        per_row = np.atleast_2d(scores @ weights)
    elif scores.ndim == 2:
        per_row = weights @ scores.T
    else:
        per_row = np.einsum("src,sc->sr", scores, weights, optimize=True)
    if choice is None or len(starts) == choice.shape[0]:
        return np.asarray(np.maximum.reduceat(per_row, starts, axis=1))
    rows = _choices(np.atleast_2d(weights), choice, starts)
    if rows.shape[0] == 1:
        return np.asarray(per_row[:, rows[0]])
    return np.take_along_axis(per_row, rows, axis=1)


class Accumulator:
    """SMAA-2 indices accumulated over chunks of paired draws (scores, weights), so that each
    chunk's arrays stay small enough for the CPU caches; `smaa2` is one chunk. The score draws
    are kept for the confidence factors, which need every alternative's central weights first."""

    def __init__(self, starts: np.ndarray, choice: FloatArray | None = None) -> None:
        self.starts = starts
        self.choice = choice
        alternatives = len(starts)
        self.draws = 0
        self.rank_counts = np.zeros((alternatives, alternatives))
        self.first_weights: FloatArray | None = None
        self.wins = np.zeros(alternatives)
        self.above = np.zeros((alternatives, alternatives))
        self.weight_sum: FloatArray | None = None
        self.kept: list[FloatArray] = []

    def add(self, scores: FloatArray, weights: FloatArray) -> Accumulator:
        norm = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        rank = ranks(values(scores, norm, self.starts, self.choice))
        alternatives = rank.shape[1]
        for r in range(alternatives):
            self.rank_counts[:, r] += (rank == r).sum(axis=0)
        first = (rank == 0).astype(float)
        self.wins += first.sum(axis=0)
        chunk_first = first.T @ norm
        self.first_weights = (
            chunk_first if self.first_weights is None else self.first_weights + chunk_first
        )
        self.above += (rank[:, :, None] < rank[:, None, :]).sum(axis=0)
        chunk_weights = norm.sum(axis=0)
        self.weight_sum = (
            chunk_weights if self.weight_sum is None else self.weight_sum + chunk_weights
        )
        self.draws += rank.shape[0]
        self.kept.append(scores)
        return self

    def indices(self) -> Indices:
        if self.draws == 0 or self.first_weights is None or self.weight_sum is None:
            raise ValueError("no draws were added")
        alternatives = len(self.starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            central = self.first_weights / self.wins[:, None]
        central[self.wins == 0] = np.nan
        confidence = np.full(alternatives, np.nan)
        winners = np.flatnonzero(self.wins > 0)
        if winners.size:
            fixed = central[winners]  # winners x criteria
            single = self.choice is None or len(self.starts) == self.choice.shape[0]
            rows = None if single else _choices(fixed, self.choice, self.starts)  # type: ignore[arg-type]
            hits = np.zeros(winners.size)
            for scores in self.kept:  # every winner's central weights in one pass per chunk
                per_row_all = np.asarray(scores @ fixed.T)  # [samples x] rows x winners
                for index, k in enumerate(winners.tolist()):
                    per_row = np.atleast_2d(per_row_all[..., index])
                    if rows is None:
                        at_central = np.maximum.reduceat(per_row, self.starts, axis=1)
                    else:
                        at_central = per_row[:, rows[index]]
                    # ties go to the lower index, as in `ranks`
                    hits[index] += float((np.argmax(at_central, axis=1) == k).sum())
            draws = sum(scores.shape[0] if scores.ndim == 3 else 1 for scores in self.kept)
            confidence[winners] = hits / draws
        return Indices(
            acceptability=self.rank_counts / self.draws,
            central_weights=central,
            confidence=confidence,
            pairwise=self.above / self.draws,
            mean_weights=self.weight_sum / self.draws,
        )


def smaa2(
    scores: FloatArray,
    weights: FloatArray,
    starts: np.ndarray,
    choice: FloatArray | None = None,
) -> Indices:
    """The SMAA-2 indices for paired draws of scores and weights (see the module docstring);
    `choice` (rows x criteria, the scores as known) picks the row of an alternative with
    several (see `values`)."""
    return Accumulator(starts, choice).add(scores, weights).indices()
