"""How trustworthy and how costly the probes are, as ratios against references from the same run.

(a) Accuracy: the matmul GFLOP/s each framework's probe reports (at n = 1024, float32, through the
    real runner and worker) against the same 1024 x 1024 float32 product timed directly with
    numpy's BLAS in this process, same thread count. A ratio far below 1 means the probe times
    more than the multiplication (conversions, dispatch, a missing sync); far above 1 would mean
    it times less (an asynchronous engine not waited for).
(b) Harness overhead: `probes.timing`'s loop on an empty callable, in ns per call, against a bare
    `for` loop calling the same callable.
(c) Cost: wall time of the quick suite for all three frameworks (what setup.sh runs), with each
    framework's share and its import time as the worker reported it.

Run: .venv/bin/python bench/bench_probes.py [--threads N] [--skip-suite]
No targets are asserted here; the numbers go into the report with the command that made them.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from probes.config import default_threads, find_config, load_config, resolve_interpreters  # noqa: E402
from probes.records import ProbeRecord, ProbeStatus  # noqa: E402
from probes.runner import (  # noqa: E402
    FRAMEWORK_PROBE,
    RunOptions,
    WorkerReady,
    run_probes,
    worker_environment,
)

FRAMEWORKS = ("pytorch", "tensorflow", "mxnet")
N = 1024


def numpy_matmul_gflops(threads: int, n: int = N, min_time: float = 1.0) -> tuple[float, float]:
    """Median GFLOP/s (and CV) of an n x n float32 product with numpy, inputs made beforehand."""
    for name, value in worker_environment(threads, ROOT, {}).items():
        if name.endswith("THREADS"):
            os.environ[name] = value  # before numpy loads its BLAS
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    for _ in range(3):
        np.matmul(a, b, out=out)
    times: list[float] = []
    spent = 0.0
    while spent < min_time or len(times) < 10:
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        took = time.perf_counter() - start
        times.append(took)
        spent += took
    median = statistics.median(times)
    flops = 2.0 * n**3
    cv = statistics.pstdev(times) / statistics.fmean(times)
    return flops / median / 1e9, cv


def matmul_records(records: list[ProbeRecord]) -> dict[str, ProbeRecord]:
    """The float32 matmul record per framework closest to n = 1024."""
    found: dict[str, ProbeRecord] = {}
    for record in records:
        if not record.probe.startswith("matmul") or record.status is not ProbeStatus.OK:
            continue
        if str(record.params.get("dtype", "float32")) not in ("float32", "fp32"):
            continue
        distance = abs(int(record.params.get("n", 0) or 0) - N)
        best = found.get(record.framework)
        if best is None or distance < abs(int(best.params.get("n", 0) or 0) - N):
            found[record.framework] = record
    return found


def harness_overhead() -> tuple[float, float] | None:
    """ns per call of probes.timing's loop on an empty callable, and of a bare loop."""
    try:
        from probes import timing
    except ImportError:
        return None

    def empty() -> None:
        return None

    calls = 200_000
    start = time.perf_counter()
    for _ in range(calls):
        empty()
    bare_ns = (time.perf_counter() - start) / calls * 1e9
    harness_ns = _timing_loop_ns(timing, empty)
    return (harness_ns, bare_ns) if harness_ns is not None else None


def _timing_loop_ns(timing: Any, empty: Callable[[], None]) -> float | None:
    """Time `empty` with the harness's own measuring function; ns per call from its result."""
    time_calls = getattr(timing, "time_calls", None)
    budget_type = getattr(timing, "Budget", None)
    if callable(time_calls) and budget_type is not None:
        # the worker's loop: one sample per call, each ending with the framework's sync
        samples = time_calls(empty, lambda result: None, budget_type(1000, 10_000, 0.2))
        return float(statistics.median(samples)) * 1e9
    for name in ("measure", "time_callable", "benchmark", "autorange", "timeit"):
        function = getattr(timing, name, None)
        if not callable(function):
            continue
        params = inspect.signature(function).parameters
        kwargs: dict[str, Any] = {}
        if "min_time" in params:
            kwargs["min_time"] = 0.2
        result = function(empty, **kwargs)
        seconds = getattr(result, "median", None)
        if seconds is None and isinstance(result, dict):
            seconds = result.get("median")
        per_call = getattr(result, "per_call", None)
        if isinstance(per_call, int | float):
            return float(per_call) * 1e9
        if isinstance(seconds, int | float):
            return float(seconds) * 1e9
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--skip-suite", action="store_true", help="skip (c), the quick suite")
    args = parser.parse_args()
    missing = [
        f"probes/{n}.py"
        for n in ("worker", "fingerprint")
        if not (ROOT / "probes" / f"{n}.py").exists()
    ]
    if missing:
        sys.exit(f"bench_probes: {', '.join(missing)} not written yet; nothing to measure")
    interpreters = resolve_interpreters(FRAMEWORKS, config=load_config(find_config(ROOT)))

    # (a) the probe's matmul against numpy's, in the same run, at the size the probe used
    records = run_probes(
        interpreters,
        RunOptions(suite="quick", threads=args.threads, probes=("matmul",)),
    )
    found = matmul_records(records)
    n = int(next(iter(found.values())).params.get("n", N)) if found else N
    numpy_gflops, numpy_cv = numpy_matmul_gflops(args.threads, n)
    print(f"(a) matmul {n}x{n} float32, {args.threads} thread(s)")
    print(f"    numpy (reference, direct)      {numpy_gflops:8.1f} GFLOP/s  (CV {numpy_cv:.1%})")
    for framework in FRAMEWORKS:
        record = found.get(framework)
        if record is None or record.value is None:
            problems = [r for r in records if r.framework == framework]
            why = problems[0].error if problems else "no record"
            print(f"    {framework:<12} probe            -   ({why})")
            continue
        cv = f"CV {record.spread.cv:.1%}" if record.spread.cv is not None else ""
        load = record.details.get("other_load_cpus")
        busy = f"  other processes {load:.1f} CPUs" if isinstance(load, int | float) else ""
        print(
            f"    {framework:<12} probe n={record.params.get('n')}  {record.value:8.1f} "
            f"{record.unit}  ratio to numpy {record.value / numpy_gflops:.2f}  {cv}{busy}"
        )

    # (b) harness overhead
    overhead = harness_overhead()
    if overhead is None:
        print("(b) probes.timing not importable or no measuring function found")
    else:
        harness_ns, bare_ns = overhead
        print(
            f"(b) timing loop on an empty callable  {harness_ns:8.0f} ns/call  "
            f"(bare Python loop {bare_ns:.0f} ns/call, ratio {harness_ns / bare_ns:.1f}x)"
        )

    if args.skip_suite:
        return
    # (c) quick suite, all three frameworks, one after another
    imports: dict[str, float | None] = {}

    def on_event(event: object) -> None:
        if isinstance(event, WorkerReady):
            imports[event.framework] = event.import_seconds

    started = time.perf_counter()
    suite = run_probes(
        interpreters, RunOptions(suite="quick", threads=args.threads), on_event=on_event
    )
    wall = time.perf_counter() - started
    ok = sum(r.status is ProbeStatus.OK for r in suite)
    bad = [
        f"{r.framework} {r.probe}: {r.status.value}"
        for r in suite
        if r.status not in (ProbeStatus.OK, ProbeStatus.SKIPPED) and r.probe != FRAMEWORK_PROBE
    ]
    print(f"(c) quick suite, 3 frameworks: {wall:6.1f} s wall, {ok}/{len(suite)} records ok")
    for framework in FRAMEWORKS:
        share = [r for r in suite if r.framework == framework]
        took = imports.get(framework)
        shown = f"{took:.2f}" if took is not None else "-"
        print(f"    {framework:<12} {len(share):3d} records, import {shown} s")
    for line in bad:
        print(f"    not ok: {line}")


if __name__ == "__main__":
    main()
