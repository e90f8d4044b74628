"""The real worker over a backend that computes the wrong answer, as a subprocess of the real
runner: the README's promise that a result differing from the numpy reference is recorded
`failed` with the error, never timed. (Not in mutmut's test selection: the worker runs in a
subprocess, where mutmut's trampolines cannot report; test_worker_checks.py tests the same
in-process.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from probes.catalogue import suite_sizes
from probes.config import Interpreter
from probes.records import ProbeStatus
from probes.runner import RunOptions, run_probes

FAKES = Path(__file__).resolve().parent / "fake_workers"
MISMATCH = "Mismatch: result differs from the numpy reference: max relative error"


# -- the real worker over a wrong backend, through the real runner ----------------------------------
def _through_the_runner(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[Any]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return run_probes(
        {"numpy": Interpreter(sys.executable, "test")},
        RunOptions(
            worker_module="wrong_answer",
            root=FAKES,
            suite="tiny",
            threads=1,
            timeout_s=60.0,
            probes=("matmul", "lstm_forward"),
        ),
        host=({"cpu_model": "Test CPU", "logical_cpus": 2}, "test-machine"),
    )


def test_the_real_worker_records_a_wrong_answer_as_failed_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = _through_the_runner(monkeypatch, FAKE_RESULT_ERROR="0.01")
    by_probe: dict[str, list[Any]] = {}
    for record in records:
        by_probe.setdefault(record.probe, []).append(record)
    assert len(by_probe["matmul"]) == len(suite_sizes("tiny").matmul)
    for record in by_probe["matmul"] + by_probe["lstm_forward"]:
        assert record.status is ProbeStatus.FAILED, record
        assert record.value is None and record.spread.repeats is None
        assert record.error.startswith(MISMATCH) and "1.00e-02 > 2e-03" in record.error


def test_the_real_worker_times_the_right_answers_beside_a_wrong_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = _through_the_runner(
        monkeypatch, FAKE_RESULT_ERROR="0.01", FAKE_WRONG_CALLS="lstm_forward"
    )
    status = {(r.probe, r.params.get("n")): r.status for r in records}
    assert status == {
        ("matmul", 64): ProbeStatus.OK,
        ("matmul", 256): ProbeStatus.OK,
        ("lstm_forward", None): ProbeStatus.FAILED,
    }
    matmul = next(r for r in records if r.probe == "matmul")
    assert matmul.value is not None and matmul.value > 0 and matmul.spread.repeats >= 3
