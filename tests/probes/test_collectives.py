"""The all-reduce job runner (probes.collectives) with plain-numpy ranks: timing per size,
the exact-sum check, and clean-up of a job whose peer dies or hangs; plus the ONNX check's
untestable case (probes.frameworks.base)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from probes import collectives
from probes.collectives import CollectiveError, all_reduce, bus_bandwidth, check_all_reduce
from probes.frameworks.base import onnx_capability
from tests.probes.test_worker_checks import numpy_backend

# A rank that "reduces" by computing what every rank's contribution sums to, as a collective would.
_HONEST = numpy_backend.HONEST_ALL_REDUCE


def _gone(pids: list[int]) -> bool:
    """No such process is running (a zombie waiting for its reaper counts as gone: it is dead)."""
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        status = Path(f"/proc/{pid}/status")
        if status.exists() and "\nState:\tZ" in status.read_text():
            continue
        return False
    return True


def test_a_correct_job_reports_every_size_with_its_timings() -> None:
    results = all_reduce(_HONEST, (4096, 65536), warmup=2, iterations=5, count=2)
    assert [r.nbytes for r in results] == [4096, 65536]
    assert all(len(r.seconds) == 5 and min(r.seconds) > 0 for r in results)
    assert all(r.max_error == 0 for r in results)
    check_all_reduce(_HONEST, count=3, helpers=1)


def test_every_rank_gets_its_own_free_port() -> None:
    script = (
        """
assert len(ADDRESSES) == len(set(ADDRESSES)) == 4, ADDRESSES
assert all(a.startswith("127.0.0.1:") for a in ADDRESSES)
if RANK < COUNT:
"""
        + "    "
        + _HONEST.strip()
    )
    check_all_reduce(script, count=2, helpers=2)


def test_a_wrong_sum_is_caught_on_any_rank() -> None:
    off_on_rank_1 = _HONEST.replace("COUNT + 1) / 2", "COUNT + 1) / 2 + (RANK == 1)")
    (result,) = all_reduce(off_on_rank_1, (64,), 0, 1)
    assert result.max_error == 1.0
    with pytest.raises(CollectiveError, match="off by 1 from the exact sum"):
        check_all_reduce(off_on_rank_1)


def test_a_rank_that_reports_nothing_or_crashes_is_an_error_with_its_stderr() -> None:
    with pytest.raises(CollectiveError, match="reported nothing for 64 bytes"):
        check_all_reduce("pass", count=2)
    with pytest.raises(CollectiveError, match=r"exited with code 1: .*ZeroDivisionError"):
        check_all_reduce(_HONEST + "\n1 / 0\n", count=2)


def test_a_dead_peer_ends_the_job_at_once_and_the_waiting_rank_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"""
import os, time
with open({str(pids)!r}, "a") as out:
    out.write(f"{{os.getpid()}}\\n")
if RANK == 1:
    time.sleep(0.5)
    os._exit(7)
time.sleep(60)  # rank 0 waits for its peer forever, as gloo would
"""
    started = time.monotonic()
    with pytest.raises(CollectiveError, match="rank 1 exited with code 7"):
        all_reduce(script, (64,), 0, 1, count=2, timeout_s=30)
    assert time.monotonic() - started < 10  # not the 30 s deadline
    listed = [int(p) for p in pids.read_text().split()]
    assert len(listed) == 2
    time.sleep(0.2)
    assert _gone(listed)


def test_a_hung_job_is_killed_at_its_deadline_with_every_process(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
with open({str(pids)!r}, "a") as out:
    out.write(f"{{os.getpid()}}\\n{{child.pid}}\\n")
time.sleep(60)
"""
    started = time.monotonic()
    with pytest.raises(CollectiveError, match="no result within 2 s"):
        all_reduce(script, (64,), 0, 1, count=2, timeout_s=2)
    assert time.monotonic() - started < 15
    listed = [int(p) for p in pids.read_text().split()]
    assert len(listed) == 4  # two ranks and what each started
    time.sleep(0.2)
    assert _gone(listed)


def test_a_helper_that_fails_is_an_error_too() -> None:
    script = "import sys\nif RANK >= COUNT:\n    sys.exit(3)\n" + _HONEST
    with pytest.raises(CollectiveError, match="exited with code 3"):
        check_all_reduce(script, count=2, helpers=1)


def test_bus_bandwidth_follows_nccl_tests() -> None:
    assert bus_bandwidth(1.0, 2) == 1.0
    assert bus_bandwidth(1.0, 4) == 1.5
    assert bus_bandwidth(2.0, 8) == pytest.approx(3.5)
    assert collectives.TIMEOUT_S >= 30


def test_an_onnx_export_that_cannot_be_tested_here_is_unknown_and_not_attempted() -> None:
    attempted = []

    def export() -> tuple[bytes, object, object]:
        attempted.append(1)
        raise AssertionError("not to be called")

    found = onnx_capability(export, "a test export", needs=("no_such_package_here",))  # type: ignore[arg-type]
    assert (found.present, found.unknown) == (False, True)
    assert found.detail.startswith(
        "unknown: a test export cannot be tested here: no_such_package_here"
    )
    assert found.detail.endswith("not installed") and not attempted
