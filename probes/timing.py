"""Careful timing: warm-up, repeats until a minimum measured time, robust summary statistics.

Every repeat ends with the framework's `sync` before the clock stops, because MXNet queues work
asynchronously and CUDA kernels run after the Python call returns: without it a framework would be
timed on launching work, not doing it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SETTLE_S = 0.2
"""Pause before each measurement: numpy's OpenBLAS threads keep spinning for a while after the
reference computation, and on a small machine they would steal cores from the framework's
threads (seen here: a 256x256 matmul timed at 2 instead of 150 GFLOP/s)."""


@dataclass(frozen=True)
class Budget:
    """How long to measure one figure."""

    warmup: int
    min_repeats: int
    min_seconds: float
    max_repeats: int = 100_000


def time_calls(call: Callable[[], Any], sync: Callable[[Any], None], budget: Budget) -> list[float]:
    """Seconds per call, one sample per repeat, after `budget.warmup` untimed calls."""
    time.sleep(SETTLE_S)
    for _ in range(budget.warmup):
        sync(call())
    samples: list[float] = []
    clock = time.perf_counter
    spent = 0.0
    while len(samples) < budget.max_repeats and (
        len(samples) < budget.min_repeats or spent < budget.min_seconds
    ):
        started = clock()
        sync(call())
        elapsed = clock() - started
        samples.append(elapsed)
        spent += elapsed
    return samples


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(figures: Sequence[float]) -> dict[str, float | int]:
    """Median, interquartile range and coefficient of variation of per-repeat figures."""
    mean = statistics.fmean(figures)
    std = statistics.pstdev(figures) if len(figures) > 1 else 0.0
    return {
        "median": statistics.median(figures),
        "iqr": percentile(figures, 75) - percentile(figures, 25),
        "cv": std / mean if mean else 0.0,
        "repeats": len(figures),
    }
