"""Is the machine quiet? A fixed reference kernel, timed between frameworks.

On a 2-core host one other CPU-bound job turns a 2-thread kernel's 280 GFLOP/s into 5-30, so a
figure taken while something else ran is not a property of the framework. The runner times the
same single-threaded numpy matmul (512 x 512, 15 repeats, about 30 ms) in a fresh interpreter
before each framework; a check slower than `BUSY_FACTOR` x the quietest one
seen (this run's, or the store's for this machine) marks the next framework's figures `noisy`,
with the reason, and calibration then leaves them out while better figures exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from probes.processes import popen_options

BUSY_FACTOR = 1.25
"""a reference this much slower than the quiet one means something else is using the CPUs"""
TIMEOUT_S = 30.0
_SCRIPT = """
import json, os, time
import numpy as np
a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
a @ a
times = []
for _ in range(15):
    started = time.perf_counter()
    a @ a
    times.append(time.perf_counter() - started)
times.sort()
print(json.dumps({"median_s": times[len(times) // 2], "load": os.getloadavg()[0]}))
"""
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Check:
    seconds: float
    """median time of one 512 x 512 float32 matmul on one thread"""
    load_average: float
    """the 1-minute load average then (it lags, and counts the previous framework's run)"""


def reference_check(python: str = sys.executable) -> Check | None:
    """Time the reference kernel in a fresh `python` (numpy needed); None if it cannot run."""
    env = {**os.environ, **dict.fromkeys(_ONE_THREAD, "1")}
    try:
        done = subprocess.run(  # type: ignore[call-overload]
            [python, "-c", _SCRIPT],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
            check=False,
            **popen_options(),
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return Check(float(found["median_s"]), float(found["load"]))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError, TypeError):
        return None


def busy_reason(check: Check | None, quiet_s: float | None) -> str | None:
    """Why the figures that follow `check` are noisy, or None when the machine looked quiet."""
    if check is None or quiet_s is None or quiet_s <= 0:
        return None
    ratio = check.seconds / quiet_s
    if ratio <= BUSY_FACTOR:
        return None
    return (
        f"the reference matmul ran {ratio:.1f}x slower than this machine's quiet figure just "
        f"before (load average {check.load_average:.1f}): something else was using the CPUs"
    )
