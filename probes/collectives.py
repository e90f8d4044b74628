"""All-reduce across local processes through a framework's own collective layer, timed.

Each framework module gives a script (its process-group set-up and one all-reduce) that is run
after `HARNESS` in `count` fresh interpreters on 127.0.0.1, plus `helpers` more processes where
the layer needs them (MXNet's scheduler and server). For every message size the harness fills a
float32 buffer with `(i % 7 + 1) * (rank + 1)`, checks that the first reduction is exactly
`(i % 7 + 1) * count (count + 1) / 2` everywhere, then times single all-reduces (synchronised,
the buffer restored between them outside the clock) and prints one JSON line per size.

Bandwidths follow nccl-tests: algbw = bytes / time, busbw = algbw * 2 (n - 1) / n, the share of
the data each link carries in a ring; for two processes they are equal. On one machine the figure
is the collective layer's own overhead (loopback TCP, shared memory), not multi-node scaling.

Every process is in its own process group and dies with its parent (`probes.processes`); at the
first rank that exits non-zero, or at the deadline, all groups are killed, so a hung or dead peer
never leaves a process behind or keeps the others waiting out their library's 30 min timeout.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from probes.processes import kill_group, popen_options

TIMEOUT_S = 60.0
"""for the whole job: every rank imports the framework first (TensorFlow: 2.5-4 s here)"""
POLL_S = 0.05

HARNESS = '''
import json, sys, time
import numpy as np
ADDRESSES, COUNT, RANK = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
SIZES = [int(v) for v in sys.argv[4].split(",")]
WARMUP, ITERATIONS = (int(v) for v in sys.argv[5].split(","))

def harness(make, reduce, to_numpy, sync, reset=None):
    """make(numpy) -> buffer; reduce(buffer) -> result; the rest as named."""
    for nbytes in SIZES:
        index = np.arange(max(nbytes // 4, 1))
        source = ((index % 7 + 1) * (RANK + 1)).astype(np.float32)
        expected = (index % 7 + 1) * COUNT * (COUNT + 1) / 2
        buffer = make(source)
        got = np.asarray(to_numpy(reduce(buffer)), dtype=np.float64).reshape(-1)
        error = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else None
        times = []
        for i in range(WARMUP + ITERATIONS):
            if reset is not None:
                reset(buffer, source)
            started = time.perf_counter()
            sync(reduce(buffer))
            if i >= WARMUP:
                times.append(time.perf_counter() - started)
        print(json.dumps({"bytes": nbytes, "seconds": times, "max_error": error}), flush=True)
'''


@dataclass(frozen=True)
class SizeResult:
    nbytes: int
    seconds: list[float]
    """rank 0's time per all-reduce"""
    max_error: float
    """largest |result - exact sum| over every rank (0 when correct)"""


class CollectiveError(RuntimeError):
    """The job failed, hung or reduced to the wrong values."""


def free_addresses(count: int) -> list[str]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{each.getsockname()[1]}" for each in sockets]
    finally:
        for each in sockets:
            each.close()


def _run_ranks(
    script: str, count: int, helpers: int, args: list[str], timeout_s: float
) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) per process; raises CollectiveError at the first failure or
    at the deadline, after killing every process group."""
    addresses = ",".join(free_addresses(count + helpers))
    processes = [
        subprocess.Popen(  # type: ignore[call-overload]
            [sys.executable, "-c", HARNESS + script, addresses, str(count), str(rank), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **popen_options(),
        )
        for rank in range(count + helpers)
    ]
    deadline = time.monotonic() + timeout_s
    try:
        while [p.poll() for p in processes].count(None):  # poll every one, every time
            failed = next((p for p in processes if p.returncode not in (None, 0)), None)
            if failed is not None:
                rank = processes.index(failed)
                raise CollectiveError(
                    f"rank {rank} exited with code {failed.returncode}: {_tail(failed)}"
                )
            if time.monotonic() > deadline:
                raise CollectiveError(f"no result within {timeout_s:g} s (a rank hung)")
            time.sleep(POLL_S)
        outputs = [(p.returncode, *p.communicate()) for p in processes]
    finally:
        for process in processes:
            kill_group(process)
    for rank, (code, _, err) in enumerate(outputs):
        if code != 0:
            raise CollectiveError(f"rank {rank} exited with code {code}: {_tail_text(err)}")
    return outputs


def _tail(process: subprocess.Popen[str]) -> str:
    kill_group(process)
    try:
        _, err = process.communicate(timeout=2)
    except (subprocess.TimeoutExpired, ValueError):
        return ""
    return _tail_text(err or "")


def _tail_text(text: str) -> str:
    return " ".join(text.split())[-300:]


def _parse(out: str) -> dict[int, dict[str, Any]]:
    found = {}
    for line in out.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            found[int(entry["bytes"])] = entry
    return found


def all_reduce(
    script: str,
    sizes: tuple[int, ...],
    warmup: int,
    iterations: int,
    count: int = 2,
    helpers: int = 0,
    timeout_s: float = TIMEOUT_S,
) -> list[SizeResult]:
    """Run the job and return rank 0's timings per size, with the worst error of any rank."""
    args = [",".join(str(s) for s in sizes), f"{warmup},{iterations}"]
    outputs = _run_ranks(script, count, helpers, args, timeout_s)
    reports = [_parse(out) for _, out, _ in outputs[:count]]
    results = []
    for nbytes in sizes:
        entries = [report.get(nbytes) for report in reports]
        if any(entry is None for entry in entries):
            raise CollectiveError(f"a rank reported nothing for {nbytes} bytes")
        errors = [entry["max_error"] for entry in entries if entry is not None]
        worst = float("inf") if any(e is None for e in errors) else max(errors)
        first = entries[0]
        assert first is not None
        results.append(SizeResult(nbytes, [float(s) for s in first["seconds"]], worst))
    return results


def check_all_reduce(
    script: str, count: int = 2, helpers: int = 0, timeout_s: float = TIMEOUT_S
) -> None:
    """One small all-reduce, checked: the distributed capability when the timed probe did not run."""
    (result,) = all_reduce(script, (64,), 0, 1, count, helpers, timeout_s)
    if result.max_error != 0:
        raise CollectiveError(f"all-reduce is off by {result.max_error:g} from the exact sum")


def bus_bandwidth(algbw: float, count: int) -> float:
    """nccl-tests' bus bandwidth of an all-reduce: algbw x 2 (n - 1) / n."""
    return algbw * 2.0 * (count - 1) / count
