"""What the runner does about the machine itself: one probe run at a time on it whatever the
store, a reference kernel before each framework that flags a busy machine's figures `noisy`,
per-worker thread counts, and the thread-scaling figure made from a 1- and an N-thread pass."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from probes import runner
from probes.host_check import BUSY_FACTOR, Check, busy_reason, reference_check
from probes.records import ProbeRecord, ProbeStatus, Spread
from probes.runner import ProbeTarget, RunLock, RunLockError, RunOptions, host_lock_path, run_probes
from probes.scaling import scaling_records
from tests.probes.test_runner import FAKES, HOST, PY, REPO


def _options(**kw: object) -> RunOptions:
    settings: dict[str, object] = {"timeout_s": 10.0, "startup_timeout_s": 10.0, "threads": 2}
    settings.update(kw)
    return RunOptions(root=FAKES, **settings)  # type: ignore[arg-type]


def test_a_second_run_on_the_same_machine_is_refused_whatever_its_store(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import time; from probes.runner import RunLock, host_lock_path\n"
         "with RunLock(host_lock_path()):\n    print('held', flush=True); time.sleep(60)\n"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockError, match=rf"using this machine \(pid {holder.pid}"):
            run_probes({"pytorch": PY}, _options(worker_module="good"), host=HOST,
                       store=tmp_path / "other.sqlite3")  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    with RunLock(host_lock_path()):
        pass  # released with its holder


def test_a_slow_reference_before_a_framework_flags_its_figures_noisy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checks = iter([Check(0.010, 0.2), Check(0.030, 2.5)])
    monkeypatch.setattr(runner, "reference_check", lambda: next(checks))
    records = run_probes(
        {"pytorch": PY, "tensorflow": PY},
        _options(worker_module="good", host_check=True),
        host=HOST, store=tmp_path / "s.sqlite3",
    )  # fmt: skip
    quiet = [r for r in records if r.framework == "pytorch"]
    busy = [r for r in records if r.framework == "tensorflow"]
    assert quiet and busy
    assert all("noisy" not in r.details for r in quiet)
    assert all(r.details["reference_matmul_s"] == 0.01 for r in quiet)
    for record in busy:
        assert record.details["noisy"].startswith(
            "the reference matmul ran 3.0x slower than this machine's quiet figure"
        )
        assert "load average 2.5" in record.details["noisy"]


def test_a_quiet_figure_from_an_earlier_run_sets_the_bar(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "reference_check", lambda: Check(0.020, 0.1))
    records = run_probes(
        {"pytorch": PY},
        _options(worker_module="good", host_check=True, quiet_reference_s=0.010),
        host=HOST, store=tmp_path / "s.sqlite3",
    )  # fmt: skip
    assert records and all("2.0x slower" in r.details["noisy"] for r in records)


def test_others_cpu_use_during_a_figure_flags_it_too() -> None:
    run = runner._FrameworkRun(
        framework="pytorch", interpreter=PY, options=_options(), run_id="r", host=HOST,
        emit=lambda r: None, on_event=lambda e: None, environ={},
    )  # fmt: skip
    assert run._flag_noisy({"other_load_cpus": 0.4}) == {"other_load_cpus": 0.4}
    flagged = run._flag_noisy({"other_load_cpus": 1.3})
    assert flagged["noisy"] == "other processes kept 1.3 CPUs busy while it was measured"


def test_busy_reason_compares_with_the_quiet_figure() -> None:
    assert busy_reason(Check(0.0100 * BUSY_FACTOR, 1.0), 0.0100) is None
    assert busy_reason(Check(0.0126, 1.0), 0.0100) is not None
    assert busy_reason(None, 0.01) is None and busy_reason(Check(1.0, 1.0), None) is None


def test_the_real_reference_kernel_runs_in_a_fresh_interpreter() -> None:
    check = reference_check()
    assert check is not None
    assert 1e-4 < check.seconds < 1.0  # a 512x512 float32 matmul on one core: ~1-30 ms
    assert check.load_average >= 0
    assert reference_check("/nonexistent/python") is None


def test_a_target_may_run_with_its_own_thread_count(tmp_path: Path) -> None:
    targets = [
        ProbeTarget("pytorch", PY, probes=("env",)),
        ProbeTarget("pytorch", PY, probes=("env",), threads=1),
    ]
    records = run_probes(
        targets, _options(worker_module="env_report", threads=3), host=HOST,
        store=tmp_path / "s.sqlite3",
    )  # fmt: skip
    assert [r.details["args"]["threads"] for r in records] == [3, 1]
    assert [r.params["threads"] for r in records] == [3, 1]
    assert [r.details["env"]["OMP_NUM_THREADS"] for r in records] == ["3", "1"]


def _transformer(threads: int, ms: float, **params: object) -> ProbeRecord:
    return ProbeRecord(
        framework="pytorch", probe="transformer", status=ProbeStatus.OK, value=ms, unit="ms",
        higher_is_better=False,
        params={"mode": "eager", "pass": "train", "threads": threads, **params},
        spread=Spread(repeats=10), machine_id="m", measured_at=datetime.now(timezone.utc),
        run_id="r",
    )  # fmt: skip


def test_thread_scaling_pairs_the_one_thread_and_n_thread_figures() -> None:
    made = scaling_records(
        [
            _transformer(1, 120.0),
            _transformer(4, 40.0),
            _transformer(1, 2.0, figure="first_call"),  # not a timed figure
            _transformer(4, 1.0, figure="first_call"),
            _transformer(8, 30.0, mode="compiled"),  # no 1-thread partner
        ]
    )
    (scaling,) = made
    assert scaling.probe == "thread_scaling" and scaling.unit == "x" and scaling.higher_is_better
    assert scaling.value == 3.0
    assert scaling.details["efficiency"] == 0.75
    assert scaling.params == {"mode": "eager", "pass": "train", "threads": 4}
    assert scaling.details["ms_at_1_thread"] == 120.0 and scaling.details["ms_at_4_threads"] == 40.0


def test_the_probe_command_runs_short_suites_single_threaded_and_passes_procs(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "advisor.cli.probe", "--store", str(tmp_path / "s.sqlite3"),
         "--worker-module", "env_report", "--worker-root", str(FAKES), "--framework", "pytorch",
         "--procs", "3", "--format", "json"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (shown,) = [r for r in json.loads(result.stdout) if r["probe"] == "env"]
    assert shown["details"]["args"]["threads"] == 1  # quick, nobody said otherwise
    assert shown["details"]["args"]["procs"] == 3
