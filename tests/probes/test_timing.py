"""probes.timing in this process, with the real clock: warm-up, repeats until both the minimum
count and the minimum measured time are reached, the framework's sync inside the clock, the
summary statistics, and how busy other processes kept the machine."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from probes import timing
from probes.timing import (
    Budget,
    OtherLoad,
    Timed,
    bootstrap_median_interval,
    measure,
    percentile,
    robust_spread,
    summarise,
    time_calls,
)

LINUX_PROC = Path("/proc/stat").exists() and Path("/proc/self/stat").exists()


class Sleeper:
    """A call that takes `seconds` (the first `slow_first` calls take `first_s`), and a sync that
    takes `sync_s` and notes which result it was given."""

    def __init__(
        self, seconds: float, sync_s: float = 0.0, first_s: float = 0.0, slow_first: int = 0
    ) -> None:
        self.seconds, self.sync_s, self.first_s, self.slow_first = (
            seconds,
            sync_s,
            first_s,
            slow_first,
        )
        self.calls = 0
        self.synced: list[Any] = []
        self.call_times: list[float] = []

    def call(self) -> int:
        self.calls += 1
        self.call_times.append(time.perf_counter())
        time.sleep(self.first_s if self.calls <= self.slow_first else self.seconds)
        return self.calls

    def sync(self, result: Any) -> None:
        time.sleep(self.sync_s)
        self.synced.append(result)


# -- time_calls ---------------------------------------------------------------------------------
def test_exactly_min_repeats_when_no_minimum_time() -> None:
    job = Sleeper(0.0)
    samples = time_calls(job.call, job.sync, Budget(warmup=2, min_repeats=5, min_seconds=0.0))
    assert len(samples) == 5
    assert job.calls == 7  # two untimed warm-up calls first
    assert job.synced == [1, 2, 3, 4, 5, 6, 7]  # every call, warm-up too, synced on its result
    assert all(s >= 0 for s in samples)


def test_repeats_go_on_until_the_minimum_measured_time() -> None:
    job = Sleeper(0.01)
    samples = time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=1, min_seconds=0.06))
    assert sum(samples) >= 0.06
    assert sum(samples[:-1]) < 0.06  # it stops at the first repeat that reaches the minimum
    assert 2 <= len(samples) <= 6  # each repeat is at least 10 ms
    assert all(s >= 0.01 for s in samples)


def test_min_repeats_win_over_a_minimum_time_already_reached() -> None:
    job = Sleeper(0.02)
    samples = time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=4, min_seconds=0.001))
    assert len(samples) == 4


def test_a_budget_of_no_repeats_and_no_time_times_nothing() -> None:
    """Both minimums count as reached when they are equalled: zero of each asks for no sample."""
    job = Sleeper(0.0)
    assert time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=0, min_seconds=0.0)) == []
    assert job.calls == 0


def test_max_repeats_caps_a_minimum_time_never_reached() -> None:
    job = Sleeper(0.0)
    samples = time_calls(
        job.call, job.sync, Budget(warmup=1, min_repeats=1, min_seconds=1e6, max_repeats=3)
    )
    assert len(samples) == 3 and job.calls == 4


def test_max_repeats_caps_min_repeats_too() -> None:
    job = Sleeper(0.0)
    samples = time_calls(
        job.call, job.sync, Budget(warmup=0, min_repeats=10, min_seconds=0.0, max_repeats=2)
    )
    assert len(samples) == 2


def test_the_sync_is_inside_the_clock() -> None:
    """MXNet and CUDA return before the work is done: the sample must include the sync."""
    job = Sleeper(0.0, sync_s=0.02)
    samples = time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=3, min_seconds=0.0))
    assert len(samples) == 3 and all(s >= 0.02 for s in samples)


def test_warm_up_calls_are_not_timed() -> None:
    job = Sleeper(0.0, first_s=0.1, slow_first=2)
    samples = time_calls(job.call, job.sync, Budget(warmup=2, min_repeats=3, min_seconds=0.0))
    assert len(samples) == 3 and max(samples) < 0.1


def test_the_first_call_waits_for_the_settle_pause() -> None:
    job = Sleeper(0.0)
    started = time.perf_counter()
    time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=1, min_seconds=0.0))
    assert job.call_times[0] - started >= timing.SETTLE_S


@pytest.mark.parametrize(
    ("environment", "pause"),
    [
        ({}, timing.SETTLE_S),
        ({"OPENBLAS_NUM_THREADS": "1"}, 0.0),
        ({"OPENBLAS_NUM_THREADS": " 1 ", "OMP_NUM_THREADS": "4"}, 0.0),
        ({"OPENBLAS_NUM_THREADS": "2"}, timing.SETTLE_S),
        ({"OMP_NUM_THREADS": "1"}, 0.0),
        ({"OPENBLAS_NUM_THREADS": "", "OMP_NUM_THREADS": "3"}, timing.SETTLE_S),
    ],
)
def test_the_settle_pause_is_skipped_only_when_numpys_blas_has_one_thread(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], pause: float
) -> None:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    assert timing.settle_seconds() == pause
    slept: list[float] = []
    monkeypatch.setattr(timing.time, "sleep", slept.append)
    job = Sleeper(0.0)
    time_calls(job.call, job.sync, Budget(warmup=0, min_repeats=1, min_seconds=0.0))
    assert slept[0] == pause  # (then the Sleeper's own zero-second calls)


def test_many_figures_get_the_order_statistic_interval_not_a_resampled_one() -> None:
    values = [float(v) for v in np.random.default_rng(5).lognormal(0.0, 0.3, 2001)]
    summary = summarise(values)
    assert summary["ci95"] == list(timing.median_interval(values, 0.95))
    assert summary["repeats"] == 2001
    at_limit = values[:2000]
    assert summarise(at_limit)["ci95"] == list(bootstrap_median_interval(at_limit))
    assert timing.median_interval(at_limit) != bootstrap_median_interval(at_limit)


def test_measure_is_time_calls_plus_the_other_load() -> None:
    job = Sleeper(0.005)
    timed = measure(job.call, job.sync, Budget(warmup=1, min_repeats=3, min_seconds=0.0))
    assert isinstance(timed, Timed)
    assert len(timed.samples) == 3 and all(s >= 0.005 for s in timed.samples)
    assert job.calls == 4
    if LINUX_PROC:
        assert timed.other_load is not None and timed.other_load >= 0
    else:
        assert timed.other_load is None


# -- percentile and summarise ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 0, 5.0),
        ([5.0], 50, 5.0),
        ([5.0], 100, 5.0),
        ([3.0, 1.0, 2.0], 0, 1.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 10.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 10.0], 75, 4.75),
        ([1.0, 2.0, 3.0, 10.0], 25, 1.75),
        ([10.0, 20.0], 95, 19.5),
        ([0.0, 100.0, 200.0, 300.0, 400.0], 90, 360.0),
    ],
)
def test_percentile_interpolates_linearly(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_leaves_its_input_alone() -> None:
    values = [3.0, 1.0, 2.0]
    percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


def test_summarise_gives_median_iqr_cv_and_repeats() -> None:
    figures = [1.0, 2.0, 3.0, 10.0]
    summary = summarise(figures)
    assert summary == {
        "median": 2.5,
        "iqr": pytest.approx(3.0),
        "cv": pytest.approx(statistics.pstdev(figures) / 4.0),
        "mad": pytest.approx(1.4826),  # 1.4826 x median(1.5, 0.5, 0.5, 7.5)
        "ci95": summary["ci95"],
        "repeats": 4,
    }
    assert summary["cv"] == pytest.approx(math.sqrt(12.5) / 4.0)


def test_summarise_of_one_figure_has_no_spread() -> None:
    assert summarise([7.0]) == {
        "median": 7.0, "iqr": 0.0, "cv": 0.0, "mad": 0.0, "ci95": [7.0, 7.0], "repeats": 1
    }  # fmt: skip


def test_summarise_of_two_figures_has_their_spread() -> None:
    summary = summarise([1.0, 3.0])
    assert {k: summary[k] for k in ("median", "iqr", "cv", "mad", "repeats")} == {
        "median": 2.0, "iqr": 1.0, "cv": 0.5, "mad": 1.4826, "repeats": 2
    }  # fmt: skip
    assert summary["ci95"] == [1.0, 3.0]  # resamples (1, 1) and (3, 3) land in both tails


def test_summarise_of_identical_figures_has_no_spread() -> None:
    assert summarise([2.0, 2.0, 2.0]) == {
        "median": 2.0, "iqr": 0.0, "cv": 0.0, "mad": 0.0, "ci95": [2.0, 2.0], "repeats": 3
    }  # fmt: skip


def test_robust_spread_ignores_one_outlier_that_the_cv_does_not() -> None:
    quiet = [10.0, 10.2, 9.8, 10.1, 9.9]
    assert robust_spread([*quiet, 1000.0]) == pytest.approx(robust_spread(quiet) * 1.5, rel=0.5)
    assert robust_spread(quiet) == pytest.approx(1.4826 * 0.1)
    assert summarise([*quiet, 1000.0])["cv"] > 2.0


def test_the_bootstrap_interval_holds_the_median_narrows_with_samples_and_is_seeded() -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    few = list(rng.normal(10.0, 1.0, 10))
    many = list(rng.normal(10.0, 1.0, 400))
    low, high = bootstrap_median_interval(few)
    assert low <= statistics.median(few) <= high
    many_low, many_high = bootstrap_median_interval(many)
    assert many_low <= 10.0 <= many_high
    assert (many_high - many_low) < (high - low) / 3  # about 1 / sqrt(n) narrower
    assert (many_high - many_low) == pytest.approx(2 * 1.96 * 1.2533 / 20, rel=0.35)
    assert bootstrap_median_interval(few) == (low, high)  # same seed, same interval
    assert bootstrap_median_interval(few, seed=5) != (low, high)
    with pytest.raises(ValueError, match="no values"):
        bootstrap_median_interval([])


def test_summarise_of_figures_averaging_zero_has_cv_zero() -> None:
    summary = summarise([-1.0, 1.0])
    assert summary["cv"] == 0.0 and summary["median"] == 0.0 and summary["iqr"] == 1.0


def test_summarise_median_of_an_odd_count() -> None:
    assert summarise([9.0, 1.0, 5.0])["median"] == 5.0


# -- other processes' load ------------------------------------------------------------------------
def _capacity() -> int:
    lines = Path("/proc/stat").read_text().splitlines()
    return sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_busy_ticks_count_this_process_and_the_machine() -> None:
    before = timing._busy_ticks()
    own_before = os.times()
    _burn(0.3)
    after = timing._busy_ticks()
    own_after = os.times()
    assert before is not None and after is not None
    assert all(isinstance(v, int) for v in (*before, *after))
    ticks = os.sysconf("SC_CLK_TCK")
    own = (own_after.user + own_after.system) - (own_before.user + own_before.system)
    mine = (after[1] - before[1]) / ticks
    assert mine == pytest.approx(own, abs=0.05)  # /proc/self/stat utime + stime
    assert mine >= 0.1
    machine = (after[0] - before[0]) / ticks
    assert machine >= mine - 0.05  # the machine's busy time includes this process's
    assert machine <= _capacity() * 0.3 + 0.5  # and never more than every CPU, all the time


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_other_load_counts_another_process_and_not_this_one() -> None:
    load = OtherLoad()
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nt=time.time()\nwhile time.time()-t<0.6: pass"]
    )
    child.wait(timeout=30)
    others = load.cpus()
    assert others is not None and others >= 0.25  # the child kept (most of) a CPU busy

    load = OtherLoad()
    own_before = os.times()
    started = time.perf_counter()
    _burn(0.5)
    wall = time.perf_counter() - started
    own = (os.times().user + os.times().system - own_before.user - own_before.system) / wall
    others = load.cpus()
    assert others is not None and others >= 0
    # this process's own work is left out: with the rest it never exceeds every CPU
    assert others + own <= _capacity() + 0.3
    assert others == round(others, 2)


def _machine_busy_ticks() -> int:
    """The machine's non-idle ticks by proc(5): user, nice, system, irq, softirq and steal (idle
    and iowait are waiting; guest and guest_nice are already counted in user and nice)."""
    first = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return user + nice + system + irq + softirq + steal


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_busy_ticks_of_the_machine_leave_out_idle_iowait_and_guest_time() -> None:
    before = _machine_busy_ticks()
    ticks = timing._busy_ticks()
    after = _machine_busy_ticks()
    assert ticks is not None and before <= ticks[0] <= after  # the counters only grow


def _system_time(seconds: float) -> None:
    """Spend `seconds` mostly in the kernel (copying pages out of /dev/zero)."""
    end = time.perf_counter() + seconds
    with open("/dev/zero", "rb", buffering=0) as zero:
        while time.perf_counter() < end:
            zero.read(1 << 20)


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_busy_ticks_of_this_process_are_its_user_plus_system_time_whatever_its_name() -> None:
    """/proc/self/stat holds the process name in brackets, and a name may hold ')', spaces and
    bytes outside ASCII: the fields are counted from the last ')'. They are utime + stime, as
    times() reports."""
    _system_time(0.2)
    comm = Path("/proc/self/comm")
    name = comm.read_text().rstrip("\n")
    comm.write_text("a) \u00e9) c")
    try:
        ticks = timing._busy_ticks()
        own = os.times()
    finally:
        comm.write_text(name)
    per_s = os.sysconf("SC_CLK_TCK")
    assert round(own.system * per_s) >= 5  # enough system time to tell utime + stime apart
    assert ticks is not None
    assert abs(ticks[1] - round((own.user + own.system) * per_s)) <= 2


def test_busy_ticks_read_the_proc_fields_as_proc5_lays_them_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known figures, where the real ones may have no guest time to leave out: user 100 and nice
    20 (guest 40 and guest_nice 9 are part of them), system 30, idle 1000 and iowait 7, irq 3,
    softirq 5, steal 2 -> 100 + 20 + 30 + 3 + 5 + 2 = 160 busy; this process: utime 17 +
    stime 4, under a name that is not even UTF-8."""
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 20 30 1000 7 3 5 2 40 9\ncpu0 1 2 3 4 5 6 7 8 9 10\n", "ascii")
    own = tmp_path / "own"
    own.write_bytes(b"4242 (caf\xc3\xa9) \xff) S 1 4242 4242 0 -1 4194560 100 0 0 0 17 4 0 0 20\n")
    files = {"/proc/stat": stat, "/proc/self/stat": own}
    real = open
    monkeypatch.setattr(
        timing, "open", lambda path, *a, **k: real(files[path], *a, **k), raising=False
    )
    assert timing._busy_ticks() == (160, 17 + 4)


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_other_load_is_busy_ticks_less_its_own_per_second_of_wall_to_two_places() -> None:
    per_s = os.sysconf("SC_CLK_TCK")
    load = OtherLoad()
    now = timing._busy_ticks()
    assert now is not None
    # 15.34 CPU-seconds of the machine's, 3 of them this process's, over 10 s: 1.234 CPUs
    load._start = (now[0] - round(15.34 * per_s), now[1] - 3 * per_s)
    load._wall = time.perf_counter() - 10.0
    assert load.cpus() == pytest.approx(1.23, abs=0.011)  # a tick may pass in between


@pytest.mark.skipif(not LINUX_PROC, reason="Linux /proc only")
def test_other_load_is_never_below_zero() -> None:
    """The machine's count can go down (a CPU taken offline leaves the sum): that is no load."""
    load = OtherLoad()
    now = timing._busy_ticks()
    assert now is not None
    load._start = (now[0] + 500, now[1])
    load._wall = time.perf_counter() - 0.05
    assert load.cpus() == 0.0


def test_other_load_is_unknown_without_proc_figures_or_time() -> None:
    load = OtherLoad()
    load._start = None
    assert load.cpus() is None
    load = OtherLoad()
    load._wall = time.perf_counter() + 60  # no time has passed (a clock that went back)
    assert load.cpus() is None


# -- the median's confidence interval -------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "ranks"),
    # the classic distribution-free 95 % ranks (binomial, p = 1/2), 1-based
    [(6, (1, 6)), (10, (2, 9)), (20, (6, 15)), (50, (18, 33)), (100, (40, 61))],
)
def test_median_interval_takes_the_binomial_order_statistics(
    n: int, ranks: tuple[int, int]
) -> None:
    values = [float(i) for i in range(1, n + 1)]
    assert timing.median_interval(list(reversed(values))) == (float(ranks[0]), float(ranks[1]))


@pytest.mark.parametrize(("confidence", "expected"), [(0.5, (4.0, 7.0)), (0.2, (5.0, 6.0))])
def test_median_interval_narrows_with_less_confidence_down_to_the_middle_pair(
    confidence: float, expected: tuple[float, float]
) -> None:
    """n = 10: P(B <= 3) = 176/1024 <= 0.25 < P(B <= 4) = 386/1024, and 386/1024 <= 0.4."""
    values = [float(i) for i in range(10, 0, -1)]
    assert timing.median_interval(values, confidence) == expected


def test_median_interval_of_too_few_values_is_the_whole_range() -> None:
    assert timing.median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)
    assert timing.median_interval([5.0]) == (5.0, 5.0)
    with pytest.raises(ValueError, match=r"^no values$"):
        timing.median_interval([])


def test_median_interval_holds_the_true_median_at_least_95_percent_of_the_time() -> None:
    import random

    generator = random.Random(7)
    true_median = math.log(2)  # of an exponential distribution with rate 1: skewed, like timings
    trials = 2000
    hits = 0
    for _ in range(trials):
        low, high = timing.median_interval([generator.expovariate(1.0) for _ in range(40)])
        hits += low <= true_median <= high
    assert 0.95 <= hits / trials <= 0.99  # exact ranks over-cover a little, never under


def test_median_interval_narrows_with_more_values_and_stays_finite_for_many() -> None:
    values = [float(i % 97) for i in range(5000)]
    low, high = timing.median_interval(values)
    assert low <= statistics.median(values) <= high
    small_low, small_high = timing.median_interval(values[:50])
    assert high - low < small_high - small_low


def _bootstrap_by_hand(
    values: list[float], confidence: float, resamples: int, seed: int
) -> tuple[float, float]:
    """The percentile bootstrap of the median, written out independently."""
    data = np.array(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    medians = np.median(data[picks], axis=1)
    cut = (1.0 - confidence) / 2.0 * 100.0
    return float(np.percentile(medians, cut)), float(np.percentile(medians, 100.0 - cut))


def test_the_bootstrap_interval_is_exactly_the_seeded_percentile_bootstrap() -> None:
    values = [float(v) for v in np.random.default_rng(11).lognormal(0.0, 0.5, 15)]
    assert bootstrap_median_interval(values) == _bootstrap_by_hand(values, 0.95, 2000, 0)
    assert bootstrap_median_interval(values, 0.8, 300, 4) == _bootstrap_by_hand(values, 0.8, 300, 4)
    spread_out = [float(v) for v in np.random.default_rng(3).uniform(1.0, 2.0, 40)]
    few = bootstrap_median_interval(spread_out, 0.5, 7, 2)  # 7 distinct medians: no ties
    assert few == _bootstrap_by_hand(spread_out, 0.5, 7, 2)
    # float32 figures are widened first: the medians of an even count are float64 means
    narrow = np.array([0.1, 0.2, 0.3, 0.7, 0.9, 1.3], dtype=np.float32)
    widened = [float(v) for v in narrow]
    assert bootstrap_median_interval(narrow) == _bootstrap_by_hand(widened, 0.95, 2000, 0)
    with pytest.raises(ValueError) as caught:
        bootstrap_median_interval([])
    assert str(caught.value) == "no values"


def test_other_load_is_rounded_to_two_places(monkeypatch: pytest.MonkeyPatch) -> None:
    load = OtherLoad()
    load._start, load._wall = (0, 0), 100.0
    monkeypatch.setattr(timing, "_busy_ticks", lambda: (1534, 300))
    monkeypatch.setattr(timing.os, "sysconf", lambda name: 100)
    monkeypatch.setattr(timing.time, "perf_counter", lambda: 110.0)
    assert load.cpus() == 1.23  # 12.34 CPU-seconds of others' over 10 s
