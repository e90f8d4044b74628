"""Timing two implementations of the same step against each other: a front-end (Keras) and the
native framework it runs on, in one process, under the same load.

The two are timed in alternating rounds (A then B, then B then A, ...), each round a block of
steps, so load that comes and goes on a shared machine falls on both alike. The overhead is the
ratio of the medians of their per-step times; its interval is a paired bootstrap over the rounds
(resampling whole rounds keeps each round's A and B together, so common load cancels). Standard
library only: it runs inside every framework's interpreter.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from probes.timing import Budget, OtherLoad, settle_seconds

MIN_BLOCK_S = 0.005
MAX_STEPS_PER_BLOCK = 1000
BOOTSTRAP_RESAMPLES = 1000
INTERVAL = 0.95


@dataclass(frozen=True)
class PairTimed:
    first: list[float]
    """seconds per step of the first implementation, one figure per round"""
    second: list[float]
    steps_per_round: int
    other_load: float | None


def rounds_for(budget: Budget) -> int:
    """Rounds of a suite: odd (so the two orders are almost balanced), at least 5."""
    return max(5, 2 * budget.min_repeats + 1)


def _block(call: Callable[[], Any], sync: Callable[[Any], None], steps: int) -> float:
    clock = time.perf_counter
    started = clock()
    for _ in range(steps):
        sync(call())
    return (clock() - started) / steps


def measure_pair(
    first: Callable[[], Any],
    second: Callable[[], Any],
    sync: Callable[[Any], None],
    budget: Budget,
) -> PairTimed:
    """Per-step seconds of `first` and `second` in alternating rounds after warm-up; each round
    runs enough steps for about min_seconds / rounds of work per implementation."""
    load = OtherLoad()
    time.sleep(settle_seconds())
    for _ in range(budget.warmup):
        sync(first())
        sync(second())
    slowest = max(_block(first, sync, 1), _block(second, sync, 1))
    rounds = rounds_for(budget)
    target = max(MIN_BLOCK_S, budget.min_seconds / rounds)
    steps = max(1, min(MAX_STEPS_PER_BLOCK, math.ceil(target / max(slowest, 1e-9))))
    a: list[float] = []
    b: list[float] = []
    for index in range(rounds):
        if index % 2 == 0:
            a.append(_block(first, sync, steps))
            b.append(_block(second, sync, steps))
        else:
            b.append(_block(second, sync, steps))
            a.append(_block(first, sync, steps))
    return PairTimed(a, b, steps, load.cpus())


def ratio_of_medians(a: Sequence[float], b: Sequence[float]) -> float:
    return statistics.median(a) / statistics.median(b)


def bootstrap_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = INTERVAL,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of the ratio of medians, resampling rounds (pairs) with replacement."""
    if len(a) != len(b) or not a:
        raise ValueError("the two implementations need the same, non-zero number of rounds")
    generator = random.Random(seed)
    n = len(a)
    ratios = []
    for _ in range(resamples):
        picks = [generator.randrange(n) for _ in range(n)]
        ratios.append(ratio_of_medians([a[i] for i in picks], [b[i] for i in picks]))
    ratios.sort()
    tail = (1.0 - level) / 2.0
    low = ratios[math.floor(tail * (resamples - 1))]
    high = ratios[math.ceil((1.0 - tail) * (resamples - 1))]
    return low, high
