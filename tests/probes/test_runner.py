"""The probe runner against real worker processes: fake ones that misbehave, and the real one.

Fake workers (tests/probes/fake_workers) are run exactly as the real worker is (`python -m`, own
process group, the protocol on stdout), so crashes, hangs and stray output are genuine.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import pytest

from probes.config import (
    ConfigError,
    Interpreter,
    default_threads,
    find_config,
    load_config,
    parse_python_overrides,
    resolve_interpreters,
)
from probes.records import ProbeRecord, ProbeStatus
from probes.runner import (
    FRAMEWORK_PROBE,
    ProbeStarted,
    ProtocolError,
    RunOptions,
    describe_exit,
    parse_message,
    run_probes,
)
from probes.store import open_store

FAKES = Path(__file__).resolve().parent / "fake_workers"
REPO = Path(__file__).resolve().parents[2]
HOST = ({"cpu_model": "Test CPU", "logical_cpus": 2}, "test-machine")
PY = Interpreter(sys.executable, "test")
NOWHERE = Interpreter("/nonexistent/bin/python", "set by test")


def run_fake(
    module: str,
    frameworks: Sequence[str] = ("pytorch",),
    interpreters: dict[str, Interpreter] | None = None,
    **options: object,
) -> list[ProbeRecord]:
    settings: dict[str, object] = {"timeout_s": 10.0, "startup_timeout_s": 10.0, "threads": 2}
    settings.update(options)
    chosen = interpreters or dict.fromkeys(frameworks, PY)
    return run_probes(
        chosen,
        RunOptions(worker_module=module, root=FAKES, **settings),  # type: ignore[arg-type]
        host=HOST,
        run_id="run-1",
    )


def by_probe(records: Sequence[ProbeRecord], framework: str = "pytorch") -> dict[str, ProbeRecord]:
    return {r.probe: r for r in records if r.framework == framework}


def test_good_worker_gives_ok_records_with_machine_versions_and_run() -> None:
    records = run_fake("good", ("pytorch", "tensorflow"))
    assert [(r.framework, r.probe, r.status) for r in records] == [
        ("pytorch", "matmul", ProbeStatus.OK),
        ("pytorch", "conv", ProbeStatus.OK),
        ("pytorch", "mlp_train", ProbeStatus.OK),
        ("tensorflow", "matmul", ProbeStatus.OK),
        ("tensorflow", "conv", ProbeStatus.OK),
        ("tensorflow", "mlp_train", ProbeStatus.OK),
    ]
    first = records[0]
    assert first.value == 100.0 and first.unit == "GFLOP/s"
    assert first.params == {"n": 64, "device": "cpu", "threads": 2}
    assert first.spread.cv == 0.02 and first.spread.repeats == 5
    assert first.versions["pytorch"] == "9.9.9"
    assert first.machine_id == "test-machine"
    assert first.machine["cpu_model"] == "Test CPU" and first.machine["logical_cpus"] == 2
    assert first.run_id == "run-1"
    assert first.measured_at.tzinfo is not None


def test_missing_interpreter_is_one_missing_record_and_the_others_go_on() -> None:
    records = run_fake("good", interpreters={"mxnet": NOWHERE, "pytorch": PY})
    mxnet = [r for r in records if r.framework == "mxnet"]
    assert len(mxnet) == 1
    assert mxnet[0].probe == FRAMEWORK_PROBE and mxnet[0].status is ProbeStatus.MISSING
    assert mxnet[0].error == "interpreter not found: /nonexistent/bin/python (set by test)"
    assert {r.status for r in by_probe(records).values()} == {ProbeStatus.OK}


def test_worker_that_cannot_import_its_framework_is_missing() -> None:
    records = run_fake("missing", ("mxnet", "pytorch"))
    for framework in ("mxnet", "pytorch"):
        (record,) = [r for r in records if r.framework == framework]
        assert record.status is ProbeStatus.MISSING
        assert record.error == f"cannot import {framework}: No module named '{framework}'"


def test_hanging_probe_times_out_its_group_is_killed_and_the_rest_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "pids"
    monkeypatch.setenv("FAKE_CHILD_PID_FILE", str(pid_file))
    began = time.monotonic()
    records = run_fake("hang", ("pytorch", "tensorflow"), timeout_s=1.5)
    took = time.monotonic() - began
    for framework in ("pytorch", "tensorflow"):
        probes = by_probe(records, framework)
        assert probes["matmul"].status is ProbeStatus.OK
        assert probes["conv"].status is ProbeStatus.TIMEOUT
        assert "no result within 1.5 s" in (probes["conv"].error or "")
        assert probes["mlp_train"].status is ProbeStatus.OK  # run by a fresh worker
        assert FRAMEWORK_PROBE not in probes
    assert took < 15
    for line in pid_file.read_text().split("\n"):
        for pid in line.split():
            assert _gone(int(pid)), f"process {pid} of the hung worker's group survived"


def _gone(pid: int, wait_s: float = 5.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":  # killed, waiting to be reaped by init
            return True
        time.sleep(0.05)
    return False


def test_crash_mid_run_fails_that_probe_with_stderr_and_the_unstarted_ones() -> None:
    records = run_fake("crash", ("pytorch", "tensorflow"))
    for framework in ("pytorch", "tensorflow"):
        probes = by_probe(records, framework)
        assert probes["matmul"].status is ProbeStatus.OK
        assert probes["conv"].status is ProbeStatus.FAILED
        assert "worker exited with code 1" in (probes["conv"].error or "")
        assert "RuntimeError: fake kernel crash" in (probes["conv"].error or "")
        assert probes["mlp_train"].status is ProbeStatus.FAILED
        assert (probes["mlp_train"].error or "").startswith("not run: worker exited with code 1")


def test_sigkill_is_reported_as_a_likely_out_of_memory_kill() -> None:
    probes = by_probe(run_fake("oom"))
    assert probes["matmul"].status is ProbeStatus.OK
    assert probes["conv"].status is ProbeStatus.FAILED
    assert "SIGKILL" in (probes["conv"].error or "")
    assert "out of memory" in (probes["conv"].error or "")
    assert probes["mlp_train"].status is ProbeStatus.FAILED


def test_garbage_on_stdout_fails_the_current_probe_or_the_run() -> None:
    probes = by_probe(run_fake("garbage"))
    assert probes["matmul"].status is ProbeStatus.OK
    assert probes["mlp_train"].status is ProbeStatus.OK
    conv = probes["conv"]
    assert conv.status is ProbeStatus.FAILED
    assert conv.error == "protocol error: W0000 oneDNN custom operations are on " + "x" * 162
    run = probes[FRAMEWORK_PROBE]
    assert run.status is ProbeStatus.FAILED
    assert "protocol error: some library banner on stdout" in (run.error or "")
    assert "result without a probe name" in (run.error or "")


def test_exit_before_hello_is_a_failed_run_with_the_stderr_tail() -> None:
    records = run_fake("early_exit", ("pytorch", "tensorflow"))
    assert len(records) == 2
    for record in records:
        assert record.probe == FRAMEWORK_PROBE and record.status is ProbeStatus.FAILED
        assert "worker exited with code 1 before its hello" in (record.error or "")
        assert "No module named 'probes'" in (record.error or "")


def test_worker_that_never_says_hello_is_killed_after_the_startup_timeout() -> None:
    began = time.monotonic()
    (record,) = run_fake("silent", startup_timeout_s=1.0)
    assert time.monotonic() - began < 8
    assert record.status is ProbeStatus.FAILED
    assert record.error == "worker sent no hello within 1 s"


def test_untrustworthy_values_become_failures_and_skips_stay_skips() -> None:
    probes = by_probe(run_fake("badvalue"))
    assert probes["matmul"].status is ProbeStatus.FAILED
    assert probes["matmul"].value is None
    assert "bad value nan" in (probes["matmul"].error or "")
    assert probes["conv"].status is ProbeStatus.FAILED
    assert "without a value" in (probes["conv"].error or "")
    assert probes["mlp_train"].status is ProbeStatus.FAILED
    assert probes["lstm"].status is ProbeStatus.SKIPPED
    assert probes["lstm"].error == "not on this device"


def test_worker_without_a_probe_list_still_works() -> None:
    probes = by_probe(run_fake("good_unlisted"))
    assert [p.status for p in probes.values()] == [ProbeStatus.OK] * 3


def test_worker_gets_the_documented_command_environment_and_directory() -> None:
    (record,) = run_fake(
        "env_report", threads=3, seed=7, device="cpu", suite="tiny", probes=("env",), procs=3
    )
    details = record.details
    assert details["args"] == {
        "framework": "pytorch",
        "suite": "tiny",
        "device": "cpu",
        "threads": 3,
        "seed": 7,
        "procs": 3,
        "probe": ["env"],
    }
    assert Path(details["cwd"]) == FAKES
    env = details["env"]
    for name in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MXNET_CPU_WORKER_NTHREADS",
        "TF_NUM_INTRAOP_THREADS",
    ):
        assert env[name] == "3"
    assert env["TF_NUM_INTEROP_THREADS"] == "1"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(FAKES)
    assert record.params["threads"] == 3


def test_records_are_handed_over_as_they_come_and_can_be_stored(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store:
        seen: list[str] = []

        def keep(record: ProbeRecord) -> None:
            store.add([record])
            seen.append(record.probe)

        run_probes(
            {"pytorch": PY},
            RunOptions(worker_module="crash", root=FAKES, threads=1),
            on_record=keep,
            host=HOST,
        )
        assert seen == ["matmul", "conv", "mlp_train"]
        assert store.count() == 3


def test_interrupt_kills_the_worker_group_and_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "pids"
    monkeypatch.setenv("FAKE_CHILD_PID_FILE", str(pid_file))

    def interrupt(event: object) -> None:
        if isinstance(event, ProbeStarted) and event.probe == "conv":
            deadline = time.monotonic() + 5
            while not pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_probes(
            {"pytorch": PY},
            RunOptions(worker_module="hang", root=FAKES, threads=1),
            on_event=interrupt,
            host=HOST,
        )
    time.sleep(0.2)  # the child writes its pid just after "start"
    for pid in pid_file.read_text().split():
        assert _gone(int(pid))


# -- protocol --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("hello", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"type": "hello", "protocol": 2}', "protocol 2"),
        ('{"type": "bye"}', "unknown message type"),
        ('{"type": "start"}', "start without a probe name"),
        ('{"type": "result", "probe": "x", "status": "great"}', "status 'great'"),
    ],
)
def test_parse_message_rejects_what_is_not_protocol(line: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        parse_message(line)


def test_parse_message_accepts_protocol_lines() -> None:
    assert parse_message('{"protocol": 1, "type": "done"}') == {"protocol": 1, "type": "done"}


def test_describe_exit() -> None:
    assert describe_exit(2) == "worker exited with code 2"
    assert "SIGSEGV" in describe_exit(-11)
    assert "out of memory" in describe_exit(-9)


# -- interpreters and settings ---------------------------------------------------------------------
def test_interpreter_priority_cli_then_env_then_config_then_default(tmp_path: Path) -> None:
    config_file = tmp_path / "advisor.toml"
    config_file.write_text(
        "[probes]\nthreads = 3\ntimeout = 30\n"
        '[probes.interpreters]\nmxnet = "venv-mx/bin/python"\n'
        'tensorflow = "/opt/tf/bin/python"\n'
    )
    config = load_config(config_file)
    assert config.threads == 3 and config.timeout_s == 30.0
    chosen = resolve_interpreters(
        ["pytorch", "tensorflow", "mxnet"],
        cli={"tensorflow": "/cli/python"},
        config=config,
        environ={"ADVISOR_PYTHON_MXNET": "/env/python", "ADVISOR_PYTHON_PYTORCH": ""},
        default="/default/python",
    )
    assert chosen["tensorflow"] == Interpreter("/cli/python", "set by --python")
    assert chosen["mxnet"] == Interpreter("/env/python", "set by $ADVISOR_PYTHON_MXNET")
    assert chosen["pytorch"] == Interpreter("/default/python", "the advisor's own interpreter")
    from_file = resolve_interpreters(["mxnet"], config=config, environ={})
    assert from_file["mxnet"].path == str(tmp_path / "venv-mx" / "bin" / "python")
    assert from_file["mxnet"].source == f"set by {config_file}"


def test_configured_interpreter_that_does_not_exist_is_missing_and_says_who_set_it(
    tmp_path: Path,
) -> None:
    config_file = tmp_path / "advisor.toml"
    config_file.write_text('[probes.interpreters]\nmxnet = ".venv-mxnet/bin/python"\n')
    chosen = resolve_interpreters(["mxnet"], config=load_config(config_file), environ={})
    (record,) = run_probes(chosen, RunOptions(worker_module="good", root=FAKES), host=HOST)
    assert record.status is ProbeStatus.MISSING
    assert record.error == (
        f"interpreter not found: {tmp_path / '.venv-mxnet/bin/python'} (set by {config_file})"
    )


def test_config_comes_from_trusted_places_never_from_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "advisor.toml").write_text('[probes.interpreters]\nmxnet = "/evil"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    home = tmp_path / "home"
    env = {"XDG_CONFIG_HOME": str(home)}
    # a parent folder's file has no effect: the project given is `deep`, which has none
    assert find_config(deep, environ=env) is None
    user = home / "advisor" / "advisor.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    assert find_config(deep, environ=env) == user
    (deep / "advisor.toml").write_text("")
    assert find_config(deep, environ=env) == deep / "advisor.toml"
    assert find_config(deep, environ={**env, "ADVISOR_CONFIG": "/x.toml"}) == Path("/x.toml")
    assert find_config(deep, environ=env, explicit="/y.toml") == Path("/y.toml")
    # by default the project is this checkout, whatever the working directory
    assert find_config(environ={}) == REPO / "advisor.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[probes\n", "invalid TOML"),
        ("[probes]\nthreads = 0\n", "threads must be a positive integer"),
        ("[probes]\nthreds = 2\n", "unknown key(s) in [probes]: threds"),
        ('[probes.interpreters]\ncaffe = "/x"\n', "unknown framework 'caffe'"),
    ],
)
def test_bad_config_is_a_one_line_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "advisor.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_python_overrides() -> None:
    assert parse_python_overrides(["MXNet=/x/python", "pytorch = /y"]) == {
        "mxnet": "/x/python",
        "pytorch": "/y",
    }
    for bad in ("mxnet", "mxnet=", "caffe=/x"):
        with pytest.raises(ConfigError, match="--python"):
            parse_python_overrides([bad])


def test_default_threads_is_capped() -> None:
    assert 1 <= default_threads() <= 8


def test_the_registry_points_mxnet_and_jax_at_their_own_environments() -> None:
    from advisor.cli.probe import probe_plan

    plan = {
        item.framework: item for item in probe_plan(None, {}, load_config(REPO / "advisor.toml"))
    }
    assert plan["mxnet"].interpreter == str(REPO / ".venv-mxnet" / "bin" / "python")
    assert plan["jax"].interpreter == str(REPO / ".venv-jax" / "bin" / "python")
    assert plan["mxnet"].source == "knowledge/frameworks/mxnet.toml"


# -- the real worker ---------------------------------------------------------------------------
def _real_interpreters() -> dict[str, Interpreter]:
    from advisor.cli.probe import probe_plan

    config = load_config(REPO / "advisor.toml")
    return {
        item.framework: Interpreter(item.interpreter, item.source)
        for item in probe_plan(["pytorch", "tensorflow", "mxnet"], {}, config)
    }


@pytest.mark.frameworks
def test_tiny_suite_end_to_end_in_all_three_frameworks(tmp_path: Path) -> None:
    began = time.monotonic()
    with open_store(tmp_path / "probes.sqlite3") as store:
        records = run_probes(
            _real_interpreters(),
            RunOptions(suite="tiny", threads=2, timeout_s=120),
            on_record=lambda record: store.add([record]),
        )
        stored = store.latest()
    took = time.monotonic() - began
    problems = [
        f"{r.framework} {r.probe}: {r.status.value}: {r.error}"
        for r in records
        if r.status is not ProbeStatus.OK and not (r.status is ProbeStatus.SKIPPED and r.error)
    ]
    assert not problems, "\n".join(problems)
    assert {r.framework for r in records} == {"pytorch", "tensorflow", "mxnet"}
    for record in records:
        if record.status is ProbeStatus.OK:
            assert record.value is not None and math.isfinite(record.value), record
            assert record.value > 0 or record.probe.startswith("capability"), record
    assert len(stored) == len(records)
    assert len({r.machine_id for r in records}) == 1
    assert took < 180, f"tiny suite took {took:.0f} s"


# -- the probe command (real subprocesses, fake workers) -------------------------------------------
def probe_command(store: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "advisor.cli.probe", "--store", str(store),
        "--worker-root", str(FAKES), "--threads", "1", *args,
    ]  # fmt: skip


def test_probe_command_stores_prints_progress_and_a_summary(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    result = subprocess.run(
        probe_command(store, "--worker-module", "good", "--framework", "pytorch",
                      "--framework", "tensorflow"),
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pytorch matmul n=64 ... 100 GFLOP/s" in result.stderr
    assert "tensorflow mlp_train n=64 ... 80 GFLOP/s" in result.stderr
    assert "framework" in result.stdout and "mlp_train" in result.stdout
    with open_store(store) as opened:
        assert opened.count() == 6
        assert len({r.machine_id for r in opened.all()}) == 1


def test_probe_command_json_output_and_exit_1_when_something_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        probe_command(tmp_path / "s.sqlite3", "--worker-module", "good", "--framework", "mxnet",
                      "--python", "mxnet=/nonexistent/python", "--format", "json"),
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (shown,) = json.loads(result.stdout)
    assert shown["status"] == "missing"
    assert shown["error"] == "interpreter not found: /nonexistent/python (set by --python)"


def test_ctrl_c_stops_the_worker_keeps_what_was_stored_and_exits_130(tmp_path: Path) -> None:
    store, pid_file = tmp_path / "s.sqlite3", tmp_path / "pids"
    process = subprocess.Popen(
        probe_command(store, "--worker-module", "hang", "--framework", "pytorch"),
        cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "FAKE_CHILD_PID_FILE": str(pid_file)},
        # a test run started in the background (`cmd &` in a script) inherits an ignored SIGINT,
        # and Python then installs no KeyboardInterrupt handler: give the CLI a normal Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (no lock taken)
    )  # fmt: skip
    assert process.stderr is not None
    lines: list[str] = []
    matmul_done = threading.Event()

    def drain(stream: IO[str]) -> None:  # as a terminal would: the CLI never blocks on stderr
        for line in stream:
            lines.append(line)
            if line.startswith("pytorch matmul"):
                matmul_done.set()

    reader = threading.Thread(target=drain, args=(process.stderr,), daemon=True)
    reader.start()
    assert matmul_done.wait(timeout=60), "".join(lines)
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    reader.join(timeout=10)
    rest = "".join(lines)
    assert process.returncode == 130, rest
    assert "interrupted" in rest and "Traceback" not in rest
    with open_store(store) as opened:
        assert [r.probe for r in opened.all()] == ["matmul"]
    for pid in pid_file.read_text().split():
        assert _gone(int(pid))
