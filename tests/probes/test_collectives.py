"""The helpers the capability probes share (probes.frameworks.base), without a framework: the
multi-process all-reduce harness with plain-Python ranks, and the ONNX check's untestable case."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from probes.frameworks.base import all_reduce_in_processes, onnx_capability

# A rank that "reduces" by computing the sum every rank would contribute, as a collective would.
_HONEST = """
import sys
count, rank = int(sys.argv[2]), int(sys.argv[3])
assert len(sys.argv[1].split(",")) >= count
print("SUM", 4.0 * sum(r + 1 for r in range(count)))
"""


def test_ranks_that_agree_on_the_sum_pass() -> None:
    all_reduce_in_processes(_HONEST, count=2)
    all_reduce_in_processes(_HONEST, count=3, helpers=1)


def test_every_rank_gets_its_own_free_port() -> None:
    script = """
import sys
addresses = sys.argv[1].split(",")
assert len(addresses) == len(set(addresses)) == 4, addresses
assert all(a.startswith("127.0.0.1:") for a in addresses)
if int(sys.argv[3]) < int(sys.argv[2]):
    print("SUM", 12.0)
"""
    all_reduce_in_processes(script, count=2, helpers=2)


def test_a_wrong_sum_is_an_error() -> None:
    wrong = "import sys\nprint('SUM', 11.0)\n"
    with pytest.raises(RuntimeError, match=r"all-reduce gave 11\.0, expected 12"):
        all_reduce_in_processes(wrong, count=2)


def test_a_rank_that_reports_nothing_or_crashes_is_an_error_with_its_stderr() -> None:
    with pytest.raises(RuntimeError, match="exited with code 0"):
        all_reduce_in_processes("pass", count=2)
    with pytest.raises(RuntimeError, match=r"exited with code 1: .*ZeroDivisionError"):
        all_reduce_in_processes(_HONEST + "\n1 / 0\n", count=2)


def test_a_helper_that_fails_is_an_error_too() -> None:
    script = _HONEST.replace("print(", "sys.exit(3) if int(sys.argv[3]) >= count else print(")
    with pytest.raises(RuntimeError, match="exited with code 3"):
        all_reduce_in_processes(script, count=2, helpers=1)


def test_a_hanging_collective_times_out_and_its_processes_are_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = f"""
import os, time
with open({str(pids)!r}, "a") as out:
    out.write(f"{{os.getpid()}}\\n")
time.sleep(60)
"""
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="no result within 2 s"):
        all_reduce_in_processes(script, count=2, timeout_s=2)
    assert time.monotonic() - started < 20
    for pid in map(int, pids.read_text().split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


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
