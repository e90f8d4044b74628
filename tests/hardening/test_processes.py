"""No process outlives `advisor probe` or `advisor ui`, however they end; worker output is bounded;
the hello timeout follows --timeout; one probe run at a time per store.

Everything here runs the real CLI in real processes (the fake workers of tests/probes), and
checks what is left by scanning /proc for live members of the process groups involved.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.config import Interpreter
from probes.records import ProbeStatus
from probes.runner import MAX_LINE_BYTES, RunLock, RunLockError, RunOptions, run_probes
from probes.store import open_store

REPO = Path(__file__).resolve().parents[2]
FAKES = REPO / "tests" / "probes" / "fake_workers"
HOST = ({"cpu_model": "Test CPU", "logical_cpus": 2}, "test-machine")
PY = Interpreter(sys.executable, "test")
LINUX = sys.platform.startswith("linux")
needs_proc = pytest.mark.skipif(not LINUX, reason="reads process groups from /proc (Linux)")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of a process, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _all() -> Iterator[tuple[int, str, int, int]]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                yield (int(entry), *found)


def descendants(root: int) -> set[int]:
    """Live descendants of `root`."""
    table = [(pid, ppid) for pid, state, ppid, _ in _all() if state != "Z"]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in table if ppid in frontier} - found
        found |= frontier
    return found


def group_alive(groups: set[int]) -> list[int]:
    """Live (not zombie) processes in any of these process groups."""
    return [pid for pid, state, _, pgid in _all() if pgid in groups and state != "Z"]


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _probe_command(store: Path, module: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "advisor",
        "probe",
        "--worker-module",
        module,
        "--worker-root",
        str(FAKES),
        "--framework",
        "pytorch",
        "--python",
        f"pytorch={sys.executable}",
        "--store",
        str(store),
        "--threads",
        "1",
        *extra,
    ]


# -- signals -------------------------------------------------------------------------------------
@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_probe_killed_by_a_signal_leaves_no_worker_or_grandchild(
    tmp_path: Path, signum: int
) -> None:
    pids = tmp_path / "pids"
    env = {**os.environ, "FAKE_CHILD_PID_FILE": str(pids), "ADVISOR_CACHE_DIR": str(tmp_path)}
    advisor = subprocess.Popen(
        _probe_command(tmp_path / "s.sqlite3", "hang", "--timeout", "60"),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: pids.exists() and pids.read_text().strip(), 30, "the hung worker")
        worker, grandchild = (int(p) for p in pids.read_text().split())
        family = descendants(advisor.pid)
        assert {worker, grandchild} <= family
        groups = {advisor.pid} | {s[2] for p in family if (s := _stat(p))}
        assert worker in groups  # the worker leads a group of its own
        os.kill(advisor.pid, signum)
        advisor.wait(timeout=10)
        time.sleep(2.0)
        assert group_alive(groups) == [], f"left alive after {signal.Signals(signum).name}"
        if signum != signal.SIGKILL:
            assert advisor.returncode == 128 + signum
            assert b"Traceback" not in (advisor.stderr.read() if advisor.stderr else b"")
    finally:
        if advisor.poll() is None:
            os.killpg(advisor.pid, signal.SIGKILL)
            advisor.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@needs_proc
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_ui_killed_by_a_signal_leaves_no_streamlit_server(tmp_path: Path, signum: int) -> None:
    port = _free_port()
    launcher = subprocess.Popen(
        [sys.executable, "-m", "advisor", "ui", "--port", str(port)],
        cwd=tmp_path,
        env={
            **os.environ,
            "ADVISOR_CACHE_DIR": str(tmp_path),
            "ADVISOR_STORE": str(tmp_path / "s"),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        _wait_for(listening, 60, "the Streamlit server")
        family = descendants(launcher.pid)
        groups = {launcher.pid} | {s[2] for p in family if (s := _stat(p))}
        assert len(groups) >= 2  # the server runs in a group of its own
        os.kill(launcher.pid, signum)
        launcher.wait(timeout=10)
        time.sleep(2.0)
        assert group_alive(groups) == [], f"left alive after {signal.Signals(signum).name}"
        assert not listening()
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()


def test_ui_refuses_a_network_address_without_expose_and_says_what_it_exposes(
    tmp_path: Path,
) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "advisor", "ui", "--host", "0.0.0.0", "--port", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "--expose" in refused.stderr and "probe runs" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    from advisor.cli.ui import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("box.lan")


@needs_proc
def test_exposed_ui_with_probe_runs_off_tells_and_the_page_cannot_probe(tmp_path: Path) -> None:
    config = tmp_path / "advisor.toml"
    config.write_text("[ui]\nprobe_runs = false\n")
    port = _free_port()
    launcher = subprocess.Popen(
        [
            *(sys.executable, "-m", "advisor", "ui", "--host", "0.0.0.0", "--expose"),
            *("--port", str(port), "--config", str(config)),
        ],
        cwd=tmp_path,
        env={
            **os.environ,
            "ADVISOR_CACHE_DIR": str(tmp_path),
            "ADVISOR_STORE": str(tmp_path / "s"),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        def server_told() -> bool:
            # the server's environment once it has exec'd: between fork and exec a child still
            # shows the launcher's, which a loaded machine lets a single read catch
            for pid in descendants(launcher.pid):
                try:
                    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:  # gone meanwhile
                    continue
                if any(e.startswith(b"ADVISOR_PROBE_RUNS=disabled") for e in environ):
                    return True
            return False

        _wait_for(server_told, 30, "the server to start with ADVISOR_PROBE_RUNS=disabled")
    finally:
        os.kill(launcher.pid, signal.SIGTERM)
        launcher.wait(timeout=10)
    said = launcher.stderr.read() if launcher.stderr else ""
    assert "EXPOSED on 0.0.0.0" in said and "not start probe runs" in said, said
    # what the page's probe button calls, in a process with that setting
    code = (
        "import sys; from probes.runner import run_probes, RunLockError\n"
        "try:\n    run_probes({})\nexcept RunLockError as e:\n    print(e); sys.exit(3)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "ADVISOR_PROBE_RUNS": "disabled for this page (test)"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 3 and "disabled for this page" in ran.stdout


# -- bounded output, hello timeout -----------------------------------------------------------------
def _fake(module: str, tmp_path: Path, **options: object) -> list:  # type: ignore[type-arg]
    settings: dict[str, object] = {"timeout_s": 20.0, "threads": 1}
    settings.update(options)
    return run_probes(
        {"pytorch": PY},
        RunOptions(worker_module=module, root=FAKES, **settings),  # type: ignore[arg-type]
        host=HOST,
        run_id="r",
        store=tmp_path / "s.sqlite3",
    )


def test_300000_stray_lines_make_a_small_record_and_the_probes_still_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FLOOD", "lines")
    records = _fake("flood", tmp_path)
    assert [r.status for r in records if r.probe != "*"] == [ProbeStatus.OK] * 3
    (whole,) = [r for r in records if r.probe == "*"]
    assert len(whole.model_dump_json()) < 20_000
    assert "and 299992 more" in (whole.error or "")


def test_an_overlong_line_fails_its_probe_without_holding_it_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FLOOD", "long")
    by_probe = {r.probe: r for r in _fake("flood", tmp_path)}
    assert by_probe["conv"].status is ProbeStatus.FAILED
    assert f"more than {MAX_LINE_BYTES} bytes" in (by_probe["conv"].error or "")
    assert len(by_probe["conv"].model_dump_json()) < 5_000
    assert by_probe["mlp_train"].status is ProbeStatus.OK


def test_endless_output_kills_the_worker_and_is_an_error_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FLOOD", "endless")
    began = time.monotonic()
    by_probe = {r.probe: r for r in _fake("flood", tmp_path)}
    assert time.monotonic() - began < 20
    assert by_probe["conv"].status is ProbeStatus.FAILED  # its first stray line already did
    for record in (by_probe["*"], by_probe["mlp_train"]):  # the worker, and what it never ran
        assert "more than 32 MiB" in (record.error or "") and "killed" in (record.error or "")
    assert by_probe["mlp_train"].status is ProbeStatus.FAILED
    assert by_probe["matmul"].status is ProbeStatus.OK
    assert all(len(r.model_dump_json()) < 10_000 for r in by_probe.values())


def test_a_result_too_large_for_a_record_is_a_failed_record_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FLOOD", "details")
    by_probe = {r.probe: r for r in _fake("flood", tmp_path)}
    assert by_probe["conv"].status is ProbeStatus.FAILED
    assert "details" in (by_probe["conv"].error or "")
    assert by_probe["mlp_train"].status is ProbeStatus.OK


def test_the_hello_timeout_follows_the_probe_timeout(tmp_path: Path) -> None:
    began = time.monotonic()
    (record,) = _fake("silent", tmp_path, timeout_s=1.0)
    assert time.monotonic() - began < 8
    assert record.probe == "*" and "no hello within 1 s" in (record.error or "")


# -- one run at a time --------------------------------------------------------------------------
def test_two_probe_runs_started_together_one_refuses_and_no_figure_is_interleaved(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.sqlite3"
    timeline = tmp_path / "timeline"
    env = {
        **os.environ,
        "FAKE_TIMELINE": str(timeline),
        "FAKE_PROBE_SECONDS": "0.4",
        "ADVISOR_CACHE_DIR": str(tmp_path),
    }
    runs = [
        subprocess.Popen(
            _probe_command(store, "slow", "--format", "json"),
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(run.wait(timeout=60), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused = next(err for code, _, err in outcomes if code == 2)
    assert "another probe run is using this machine" in refused and "--wait" in refused
    assert len(refused.strip().splitlines()) == 1
    with open_store(store, create=False) as opened:
        stored = opened.all()
    assert len({r.run_id for r in stored}) == 1 and len(stored) == 3


def test_with_wait_the_second_run_waits_and_the_runs_never_overlap(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    timeline = tmp_path / "timeline"
    env = {
        **os.environ,
        "FAKE_TIMELINE": str(timeline),
        "FAKE_PROBE_SECONDS": "0.3",
        "ADVISOR_CACHE_DIR": str(tmp_path),
    }
    runs = [
        subprocess.Popen(
            _probe_command(store, "slow", "--wait", "60", "--format", "json"),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    assert [run.wait(timeout=90) for run in runs] == [0, 0]
    spans: dict[str, list[float]] = {}
    for line in timeline.read_text().splitlines():
        runner, _, _, start, end = line.split()
        spans.setdefault(runner, []).extend([float(start), float(end)])
    first, second = sorted(spans.values(), key=min)
    assert max(first) <= min(second)  # every probe of one run before any of the other
    with open_store(store, create=False) as opened:
        assert len({r.run_id for r in opened.all()}) == 2


def test_the_run_lock_is_released_when_its_holder_dies(tmp_path: Path) -> None:
    lock = tmp_path / "s.sqlite3.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from probes.runner import RunLock\n"
            "with RunLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)\n",
            str(lock),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockError, match=rf"pid {holder.pid}"), RunLock(lock):
            pass
    finally:
        holder.kill()
        holder.wait()
    with RunLock(lock):  # a killed holder leaves no stale lock
        assert json.dumps(lock.read_text().split()[0]).strip('"') == str(os.getpid())
