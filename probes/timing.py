"""Careful timing: warm-up, repeats until a minimum measured time, robust summary statistics.

Every repeat ends with the framework's `sync` before the clock stops, because MXNet queues work
asynchronously and CUDA kernels run after the Python call returns: without it a framework would be
timed on launching work, not doing it.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SETTLE_S = 0.2
"""Pause before each measurement: numpy's OpenBLAS threads keep spinning for a while after the
reference computation, and on a small machine they would steal cores from the framework's
threads (seen here: a 256x256 matmul timed at 2 instead of 150 GFLOP/s)."""
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def settle_seconds() -> float:
    """SETTLE_S, or nothing when numpy's BLAS was started with one thread (the runner sets
    OPENBLAS_NUM_THREADS to the probe's threads): no helper thread is left spinning then, and a
    single-threaded suite would otherwise sleep about 2 s per framework for nothing."""
    for variable in _BLAS_THREAD_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return 0.0 if value == "1" else SETTLE_S
    return SETTLE_S


@dataclass(frozen=True)
class Budget:
    """How long to measure one figure."""

    warmup: int
    min_repeats: int
    min_seconds: float
    max_repeats: int = 100_000


def time_calls(call: Callable[[], Any], sync: Callable[[Any], None], budget: Budget) -> list[float]:
    """Seconds per call, one sample per repeat, after `budget.warmup` untimed calls."""
    time.sleep(settle_seconds())
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


MAD_SCALE = 1.4826
"""scales the median absolute deviation to the standard deviation for normal data"""
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_MAX_VALUES = 2000
"""above this many figures the interval comes from the order statistics (`median_interval`):
resampling 72,000 sub-10-µs latencies 2,000 times took 5 s and 1 GB, and for that many values
the percentile bootstrap of a median converges on those same ranks, n/2 +- 1.96 sqrt(n)/2"""
CONFIDENCE = 0.95


def robust_spread(figures: Sequence[float]) -> float:
    """1.4826 x the median absolute deviation: a spread one outlier cannot inflate."""
    middle = statistics.median(figures)
    return MAD_SCALE * statistics.median(abs(f - middle) for f in figures)


def bootstrap_median_interval(
    figures: Sequence[float],
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval for the median (seeded, so a run's figures reproduce):
    the median of `resamples` resamples with replacement, cut at the two tails."""
    import numpy as np  # only the worker side needs it; the module stays importable without

    values = np.asarray(figures, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values")
    picks = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    medians = np.median(values[picks], axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(medians, [tail, 100.0 - tail])
    return float(low), float(high)


def summarise(figures: Sequence[float]) -> dict[str, Any]:
    """Median, interquartile range, coefficient of variation, robust spread (1.4826 MAD) and a
    95 % interval for the median of per-repeat figures: the percentile bootstrap, or for more
    than BOOTSTRAP_MAX_VALUES figures the distribution-free order-statistic interval."""
    mean = statistics.fmean(figures)
    std = statistics.pstdev(figures) if len(figures) > 1 else 0.0
    if len(figures) > BOOTSTRAP_MAX_VALUES:
        low, high = median_interval(figures, CONFIDENCE)
    else:
        low, high = bootstrap_median_interval(figures)
    return {
        "median": statistics.median(figures),
        "iqr": percentile(figures, 75) - percentile(figures, 25),
        "cv": std / mean if mean else 0.0,
        "mad": robust_spread(figures),
        "ci95": [low, high],
        "repeats": len(figures),
    }


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: the order statistics x(j), x(k) that hold
    it with at least `confidence` (binomial, p = 1/2), whatever the timings' distribution. With
    fewer than 6 values no such pair exists at 95 %: the whole range is returned."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")
    tail = (1.0 - confidence) / 2.0
    # j = the largest rank with P(B <= j - 1) <= tail for B ~ Binomial(n, 1/2): x(j) lies below
    # the median, and x(n + 1 - j) above it, each with probability at least 1 - tail
    j, cumulative, log_half = 1, 0.0, n * math.log(0.5)
    for i in range(n // 2 + 1):
        log_pmf = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half
        cumulative += math.exp(log_pmf)
        if cumulative > tail:
            break
        j = i + 1
    return ordered[j - 1], ordered[n - j]


# -- other processes' load ------------------------------------------------------------------------
def _busy_ticks() -> tuple[int, int] | None:
    """Non-idle CPU ticks of the whole machine and of this process (Linux /proc; else None)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        with open("/proc/self/stat", "rb") as own:  # bytes: the name in it may be any bytes
            mine = own.read().rsplit(b")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10])  # already counted in user / nice
    return sum(fields) - idle - guest, int(mine[11]) + int(mine[12])  # utime + stime


class OtherLoad:
    """How many CPUs' worth of work other processes did while a figure was measured.

    A 2-core machine shared with a test run or a browser can halve an OpenMP framework's figure
    (its threads wait at barriers for a descheduled sibling), so the figure says when it happened.
    """

    def __init__(self) -> None:
        self._start = _busy_ticks()
        self._wall = time.perf_counter()

    def cpus(self) -> float | None:
        end = _busy_ticks()
        wall = time.perf_counter() - self._wall
        if self._start is None or end is None or wall <= 0:
            return None
        ticks_per_s = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        others = (end[0] - self._start[0]) - (end[1] - self._start[1])
        return round(max(others, 0) / ticks_per_s / wall, 2)


@dataclass(frozen=True)
class Timed:
    samples: list[float]
    """seconds per call"""
    other_load: float | None
    """CPUs busy with other processes meanwhile (None where the OS does not tell)"""


def measure(call: Callable[[], Any], sync: Callable[[Any], None], budget: Budget) -> Timed:
    """`time_calls`, noting how busy the rest of the machine was while it ran."""
    load = OtherLoad()
    samples = time_calls(call, sync, budget)
    return Timed(samples, load.cpus())
