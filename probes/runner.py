"""Run the probe workers, one framework after another, and turn what they say into records.

The worker (`probes.worker`) runs inside the framework's own interpreter and only measures; this
side owns scheduling, timeouts and faults, so that nothing a worker does can hang or crash the
advisor. Every worker is a fresh process in its own process group, started with the same thread
settings; frameworks never run at the same time, as they would disturb each other's timings.

Faults and what they become (each a ProbeRecord, handed to `on_record` the moment it is known):
- no result within the timeout after a probe's "start": that probe is "timeout", the worker's
  whole process group is killed, and a fresh worker runs the probes still to do;
- a line on stdout that is not protocol JSON: the current probe (or, between probes, the
  framework's run) is "failed" with "protocol error: <line>";
- the worker exits non-zero: its current probe is "failed" with the stderr tail (SIGKILL is
  reported as a likely out-of-memory kill), probes never started are "failed" too;
- an interpreter that does not exist, or a framework that does not import (hello with "error",
  exit code 3): one "missing" record for the framework, and the other frameworks go on.

Records about a framework as a whole (missing, a worker that never said hello) use the probe
name `FRAMEWORK_PROBE` ("*").

Limits: a worker's stdout is read in lines of at most 1 MiB and 32 MiB in all (beyond either, the
line is a protocol error or the worker is killed and its probe is "failed"); stderr keeps a short
tail; a framework's run problems keep the first few lines and a count. The hello is awaited as
long as a probe result (`--timeout`). Each worker is in its own process group with a parent-death
signal (`probes.processes`), so no worker outlives the run, however the advisor ends.

One run at a time per store: `run_probes` holds an exclusive lock (`RunLock`, flock on the store
path + ".lock") for the whole run; a second run waits up to `lock_wait_s`, then RunLockError. A
process started with $ADVISOR_PROBE_RUNS set to "disabled: <why>" may not probe at all (the UI
launcher sets it when probe runs from the page are switched off).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from probes.config import DEFAULT_TIMEOUT_S, Interpreter, default_threads
from probes.host_check import busy_reason, reference_check
from probes.processes import Guard, kill_group, popen_options
from probes.records import ProbeRecord, ProbeStatus, Spread

PROTOCOL = 1
WORKER_MODULE = "probes.worker"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
FRAMEWORK_PROBE = "*"
MISSING_EXIT_CODE = 3
STDERR_TAIL_CHARS = 600
DONE_GRACE_S = 10.0
PROTOCOL_EXCERPT_CHARS = 200
MAX_LINE_BYTES = 1 << 20
MAX_OUTPUT_BYTES = 32 << 20
STDERR_LINE_CHARS = 2000
MAX_RUN_PROBLEMS = 8
MAX_PROBLEM_CHARS = 1000
RUNS_ENV = "ADVISOR_PROBE_RUNS"
BUSY_OTHER_CPUS = 0.5
"""others' CPU use during a figure above which it is flagged noisy (the worker warns too)"""
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MXNET_CPU_WORKER_NTHREADS",
    "TF_NUM_INTRAOP_THREADS",
)


@dataclass(frozen=True)
class RunOptions:
    """How to probe; the same for every framework of a run."""

    suite: str = "quick"
    device: str = "cpu"
    threads: int = field(default_factory=default_threads)
    timeout_s: float = DEFAULT_TIMEOUT_S
    startup_timeout_s: float | None = None
    """Time allowed until the worker's hello (the framework's import); None: `timeout_s`."""
    seed: int = 0
    probes: tuple[str, ...] = ()
    """Only these probes; empty runs the whole suite."""
    worker_module: str = WORKER_MODULE
    """The module run with `python -m`; tests point it at fake workers."""
    root: Path = PACKAGE_ROOT
    """Working directory and PYTHONPATH of the worker: the folder holding `probes`."""
    host_check: bool = False
    """time `probes.host_check`'s reference kernel before each framework and flag the figures
    of a busy machine `noisy` (the CLI turns it on; tests' fake workers need not pay for it)"""
    quiet_reference_s: float | None = None
    """the quietest reference time known for this machine from earlier runs"""
    procs: int = 2
    """ranks of the all-reduce probe"""


@dataclass(frozen=True)
class ProbeTarget:
    """One worker of a run: a framework in an interpreter, plus what differs for this worker
    alone (a front-end on one backend: the variable naming the backend, and `backend=<id>` in
    the params of every record, including those the runner makes itself)."""

    framework: str
    interpreter: Interpreter
    environment: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    frontend: bool = False
    """its worker runs the front-end probe list (`probes.catalogue.FRONTEND_PROBES`)"""
    probes: tuple[str, ...] = ()
    """exactly these probes for this worker (e.g. the suite's plus its deployment paths);
    empty: the run's `RunOptions.probes`, else the suite's"""
    threads: int | None = None
    """this worker's threads (the thread-scaling pass); None: the run's"""


@dataclass(frozen=True)
class FrameworkStarted:
    framework: str
    interpreter: Interpreter
    expected: tuple[str, ...] | None
    params: Mapping[str, Any] = field(default_factory=dict)
    """the target's own params (a front-end's backend)"""


@dataclass(frozen=True)
class WorkerReady:
    framework: str
    versions: Mapping[str, str]
    import_seconds: float | None


@dataclass(frozen=True)
class ProbeStarted:
    framework: str
    probe: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class RecordMade:
    record: ProbeRecord


Event = FrameworkStarted | WorkerReady | ProbeStarted | RecordMade


class ProtocolError(ValueError):
    pass


class RunLockError(RuntimeError):
    """Another probe run holds the store's lock (or probe runs are disabled); one line."""


class _Oversized(str):
    """A stdout line longer than MAX_LINE_BYTES (its text is what was kept of it)."""


_OVERFLOW = object()
"""the worker wrote more than MAX_OUTPUT_BYTES to stdout: reading stopped"""


def lock_path_for(store: Path) -> Path:
    """The lock file of a probe store: beside it, named after it."""
    return store.with_name(store.name + ".lock")


class RunLock:
    """An exclusive flock on a store's lock file, held for a whole probe run.

    The holder writes its pid and start time into the file, so a refused run can say who holds
    it. flock is released by the kernel when the holder dies, so a killed run never leaves a
    stale lock. Off POSIX (no fcntl) it locks nothing.
    """

    def __init__(self, path: Path, wait_s: float = 0.0, scope: str = "this store") -> None:
        self.path = path
        self.scope = scope
        self.wait_s = max(0.0, wait_s)
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:
            return self
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise RunLockError(
                f"{self.path}: cannot create the probe run lock ({error.strerror or error})"
            ) from None
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    waited = f" after waiting {self.wait_s:g} s" if self.wait_s else ""
                    raise RunLockError(
                        f"another probe run is using {self.scope}{holder}{waited}: one run at a "
                        "time, or the figures of both are distorted; wait for it to finish (or "
                        f"pass --wait SECONDS) [lock: {self.path}]"
                    ) from None
                time.sleep(0.05)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        except OSError:
            return ""
        if len(text) >= 2 and text[0].isdigit():
            return f" (pid {text[0]}, since {' '.join(text[1:])})"
        return ""

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def parse_message(line: str) -> dict[str, Any]:
    """One stdout line as a protocol message, or ProtocolError."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        raise ProtocolError("not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    version = message.get("protocol", PROTOCOL)
    if version != PROTOCOL:
        raise ProtocolError(f"worker speaks protocol {version}, this runner {PROTOCOL}")
    kind = message.get("type")
    if kind not in ("hello", "start", "result", "done"):
        raise ProtocolError(f"unknown message type {kind!r}")
    if kind in ("start", "result") and not isinstance(message.get("probe"), str):
        raise ProtocolError(f"{kind} without a probe name")
    if kind == "result" and message.get("status") not in ("ok", "failed", "skipped"):
        raise ProtocolError(f"result with status {message.get('status')!r}")
    return message


def expected_probes(suite: str, framework: str, frontend: bool = False) -> tuple[str, ...] | None:
    """The probe names a suite runs, from `probes.catalogue` if it is there (else None)."""
    try:
        catalogue = importlib.import_module("probes.catalogue")
    except ImportError:
        return None
    for name in ("suite_probes", "probes_for"):
        function = getattr(catalogue, name, None)
        if callable(function):
            try:
                names = function(suite, frontend=True) if frontend else function(suite)
            except (KeyError, ValueError, TypeError):
                return None
            return tuple(dict.fromkeys(str(n) for n in names))
    return None


def host_fingerprint() -> tuple[dict[str, Any], str]:
    """This machine's fingerprint and id, as `probes.fingerprint` computes them (the GPU list
    asked afresh, and kept for the recommend path's later runs)."""
    from probes.fingerprint import machine_fingerprint, machine_id
    from probes.paths import gpu_cache_file

    fingerprint = machine_fingerprint(gpu_cache=gpu_cache_file(), refresh=True)
    return dict(fingerprint), str(machine_id(fingerprint))


def worker_environment(threads: int, root: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment: the same thread counts for every framework, quiet logs."""
    env = dict(base)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    env["TF_NUM_INTEROP_THREADS"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(root) + (os.pathsep + existing if existing else "")
    return env


def describe_exit(code: int) -> str:
    """A worker's exit status in words; a SIGKILL we did not send is most likely the OOM killer."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == getattr(signal, "SIGKILL", 9):
            return f"worker killed by {name} (exit {code}): most likely out of memory"
        return f"worker killed by {name} (exit {code})"
    return f"worker exited with code {code}"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    kill_group(process)


class _Worker:
    """One worker process with its stdout lines in a queue and its stderr tail kept.

    Both pipes are read as bytes in bounded pieces: a line longer than MAX_LINE_BYTES arrives as
    an `_Oversized` excerpt, and after MAX_OUTPUT_BYTES of stdout in all reading stops and
    `_OVERFLOW` is queued (the caller kills the worker). stderr keeps the last 200 lines, each
    cut to STDERR_LINE_CHARS.
    """

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen_options(),
        )
        self.guard = Guard(self.process.pid)  # kills the group should this process die
        self.lines: queue.Queue[str | object | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=200)
        self._threads = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        total = 0
        with contextlib.suppress(OSError, ValueError):
            while True:
                chunk = stream.readline(MAX_LINE_BYTES + 1)
                if not chunk:
                    break
                total += len(chunk)
                if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                    excerpt = chunk[:PROTOCOL_EXCERPT_CHARS].decode("utf-8", "replace")
                    while chunk and not chunk.endswith(b"\n") and total <= MAX_OUTPUT_BYTES:
                        chunk = stream.readline(MAX_LINE_BYTES + 1)  # the rest of the line
                        total += len(chunk)
                    self.lines.put(_Oversized(excerpt))
                else:
                    self.lines.put(chunk.decode("utf-8", "replace").rstrip("\r\n"))
                if total > MAX_OUTPUT_BYTES:
                    self.lines.put(_OVERFLOW)
                    return
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        with contextlib.suppress(OSError, ValueError):
            while True:
                chunk = stream.readline(STDERR_LINE_CHARS * 4)
                if not chunk:
                    break
                text = chunk.decode("utf-8", "replace").rstrip("\r\n")
                self._stderr.append(text[:STDERR_LINE_CHARS])

    def stderr_tail(self) -> str:
        for thread in self._threads[1:]:
            thread.join(timeout=2)
        text = "\n".join(line for line in list(self._stderr) if line.strip()).strip()
        return text[-STDERR_TAIL_CHARS:]

    def finish(self, grace_s: float = 10.0) -> int:
        """Wait briefly for the exit status after stdout closed; kill if the worker lingers.
        Whatever the worker started in its group is killed too."""
        try:
            code = self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _kill_group(self.process)
            code = self.process.wait()
        _kill_group(self.process)
        self.guard.release()
        return code

    def kill(self) -> None:
        _kill_group(self.process)
        self.guard.release()
        for thread in self._threads:
            thread.join(timeout=2)


Outcome = Literal["finished", "restart"]


class _FrameworkRun:
    """Probing one framework: possibly several worker processes after timeouts."""

    def __init__(
        self,
        *,
        framework: str,
        interpreter: Interpreter,
        options: RunOptions,
        run_id: str,
        host: tuple[dict[str, Any], str],
        emit: Callable[[ProbeRecord], None],
        on_event: Callable[[Event], None],
        environ: Mapping[str, str],
        target: ProbeTarget | None = None,
    ) -> None:
        self.framework = framework
        self.target = target or ProbeTarget(framework, interpreter)
        self.interpreter = interpreter
        self.options = options
        self.run_id = run_id
        self.machine, self.machine_id = host
        self._emit = emit
        self._on_event = on_event
        self._environ = environ
        # the catalogue describes the real worker only; another module (tests' fake workers)
        # says what it runs in its hello
        catalogued = options.worker_module == WORKER_MODULE
        self.expected: tuple[str, ...] | None = (
            self.target.probes
            or options.probes
            or (
                expected_probes(options.suite, framework, self.target.frontend)
                if catalogued
                else None
            )
        )
        self.hello: dict[str, Any] | None = None
        self.finished_names: set[str] = set()
        self.recorded_keys: set[tuple[str, str]] = set()
        self.run_problems: list[str] = []
        self.dropped_problems = 0
        self.run_status = ProbeStatus.FAILED
        self.current: tuple[str, dict[str, Any]] | None = None
        self.current_failed = False
        self.progress = False
        self.done = False
        self.worker: _Worker | None = None
        self.busy: str | None = None
        self.reference_s: float | None = None
        """why the machine looked busy just before this framework (probes.host_check)"""

    # -- records ---------------------------------------------------------------------------
    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = {**self.target.params, **(params or {})}
        device = self.hello.get("device") if self.hello else None
        merged.setdefault("device", device or self.options.device)
        merged.setdefault("threads", self.threads)
        return merged

    @property
    def threads(self) -> int:
        return self.target.threads or self.options.threads

    def _record(self, probe: str, status: ProbeStatus, **fields: Any) -> None:
        params = self._params(fields.pop("params", None))
        key = (probe, json.dumps(params, sort_keys=True, default=str))
        if key in self.recorded_keys:
            return
        self.recorded_keys.add(key)
        hello = self.hello or {}
        versions = {
            str(k): str(v) for k, v in (hello.get("versions") or {}).items() if v is not None
        }
        machine = dict(self.machine)
        if isinstance(hello.get("fingerprint"), dict):
            machine = {**hello["fingerprint"], **machine}
        machine.setdefault("machine_id", self.machine_id)
        common: dict[str, Any] = {
            "framework": self.framework,
            "versions": versions,
            "machine": machine,
            "machine_id": self.machine_id,
            "measured_at": datetime.now(timezone.utc),
            "run_id": self.run_id,
        }
        if status is ProbeStatus.OK:
            fields["details"] = self._flag_noisy(dict(fields.get("details") or {}))
        try:
            record = ProbeRecord(probe=probe, status=status, params=params, **common, **fields)
        except ValidationError as error:
            # what the worker sent breaks a record limit (a value out of range, a huge detail):
            # the probe failed, and the record says which field, without the offending data
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "record"
            record = ProbeRecord(
                probe=probe[:200],
                status=ProbeStatus.FAILED,
                params=self._params(None),
                **{**common, "versions": {}, "machine": {"machine_id": self.machine_id}},
                error=f"the worker's result was rejected ({where}: {first['msg']})"[:2000],
            )
        if probe != FRAMEWORK_PROBE:
            self.finished_names.add(probe)
        self.progress = True
        self._emit(record)

    def _flag_noisy(self, details: dict[str, Any]) -> dict[str, Any]:
        """Mark a figure taken on a busy machine: others' CPU use while it was measured, or a
        slow reference kernel before this framework started (probes.host_check)."""
        reasons = []
        others = details.get("other_load_cpus")
        if isinstance(others, int | float) and others > BUSY_OTHER_CPUS:
            reasons.append(f"other processes kept {others:.1f} CPUs busy while it was measured")
        if self.busy:
            reasons.append(self.busy)
        if reasons:
            details["noisy"] = "; ".join(reasons)
        if self.reference_s is not None:
            details["reference_matmul_s"] = round(self.reference_s, 6)
        return details

    def _result(self, message: Mapping[str, Any]) -> None:
        probe = str(message["probe"])
        if self.current and self.current[0] == probe:
            start_params = self.current[1]
            already_failed = self.current_failed
            self.current, self.current_failed = None, False
            if already_failed:
                return  # recorded as a protocol error while it ran
        else:
            start_params = {}
        status = ProbeStatus(message["status"])
        value = message.get("value")
        error = message.get("error")
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (numeric and math.isfinite(value)):
            status, error, value = ProbeStatus.FAILED, f"protocol error: bad value {value!r}", None
        if status is ProbeStatus.OK and value is None:
            status, error = ProbeStatus.FAILED, "protocol error: ok result without a value"
        try:
            spread = Spread.model_validate(message.get("spread") or {})
        except ValidationError:
            spread = Spread()
        params = message.get("params")
        details = message.get("details")
        self._record(
            probe,
            status,
            params=params if isinstance(params, dict) else start_params,
            value=float(value) if value is not None else None,
            unit=str(message.get("unit") or ""),
            higher_is_better=bool(message.get("higher_is_better", True)),
            spread=spread,
            details=details if isinstance(details, dict) else {},
            error=str(error)[:2000] if error else None,
        )

    def _fail_current(self, reason: str, status: ProbeStatus = ProbeStatus.FAILED) -> None:
        if self.current is None:
            return
        probe, params = self.current
        self._record(probe, status, params=params, error=reason)
        self.current_failed = True

    def _fail_unstarted(self, reason: str) -> None:
        """Record the expected probes no worker ran (without a probe list, callers say so)."""
        for name in self.expected or ():
            if name not in self.finished_names:
                self._record(name, ProbeStatus.FAILED, error=f"not run: {reason}")

    # -- one worker process ------------------------------------------------------------------
    def _command(self, names: Sequence[str]) -> list[str]:
        o = self.options
        command = [
            self.interpreter.path,
            "-m",
            o.worker_module,
            "--framework",
            self.framework,
            "--suite",
            o.suite,
            "--device",
            o.device,
            "--threads",
            str(self.threads),
            "--seed",
            str(o.seed),
            "--procs",
            str(o.procs),
        ]
        for name in names:
            command += ["--probe", name]
        return command

    def _run_worker(self, names: Sequence[str]) -> Outcome:
        env = worker_environment(self.threads, self.options.root, self._environ)
        env.update(self.target.environment)
        try:
            self.worker = worker = _Worker(self._command(names), self.options.root, env)
        except OSError as error:
            self.run_status = ProbeStatus.MISSING
            self._add_problem(
                f"interpreter cannot be started: {self.interpreter.path} "
                f"({self.interpreter.source}): {error.strerror or error}"
            )
            return "finished"
        self.progress = False
        self.done = False
        startup = self.options.startup_timeout_s
        deadline = time.monotonic() + (startup if startup is not None else self.options.timeout_s)
        while True:
            try:
                line = worker.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return self._stalled(worker)
            if line is None:
                break
            if line is _OVERFLOW:
                return self._overflowed(worker)
            if isinstance(line, _Oversized):
                self._protocol_problem(
                    f"protocol error: a line of more than {MAX_LINE_BYTES} bytes: {line}",
                    "line too long",
                )
            elif isinstance(line, str) and line.strip():
                self._handle(line)
            # after "done" only the exit is awaited; a worker lingering in teardown is not a fault
            deadline = time.monotonic() + (DONE_GRACE_S if self.done else self.options.timeout_s)
        code = worker.finish()
        self.worker = None
        return self._exited(worker, code)

    def _overflowed(self, worker: _Worker) -> Outcome:
        """More output than any run of probes writes: kill the worker, fail what it had left."""
        worker.kill()
        self.worker = None
        reason = (
            f"the worker wrote more than {MAX_OUTPUT_BYTES >> 20} MiB to its protocol channel; "
            "it was killed"
        )
        if self.current is not None and not self.current_failed:
            self._fail_current(reason)
        self.current = None
        self._add_problem(reason)
        self._fail_unstarted(reason)
        return "finished"

    def _add_problem(self, problem: str) -> None:
        """Keep a framework's run problems short: the first few, then a count."""
        if len(self.run_problems) < MAX_RUN_PROBLEMS:
            self.run_problems.append(problem[:MAX_PROBLEM_CHARS])
        else:
            self.dropped_problems += 1

    def _protocol_problem(self, reason: str, problem: str) -> None:
        if self.current is None:
            self._add_problem(f"{reason} ({problem})")
        elif not self.current_failed:
            self._fail_current(reason)

    def _handle(self, line: str) -> None:
        try:
            message = parse_message(line)
        except (ProtocolError, RecursionError) as problem:
            reason = f"protocol error: {line[:PROTOCOL_EXCERPT_CHARS]}"
            self._protocol_problem(reason, str(problem) or "nested too deeply")
            return
        kind = message["type"]
        if kind == "hello":
            self._hello(message)
        elif kind == "start":
            if self.current is not None and not self.current_failed:
                self._fail_current("protocol error: a new probe started before its result")
            params = message.get("params")
            self.current = (str(message["probe"]), params if isinstance(params, dict) else {})
            self.current_failed = False
            self._on_event(ProbeStarted(self.framework, self.current[0], self.current[1]))
        elif kind == "result":
            self._result(message)
        else:
            self.done = True

    def _hello(self, message: Mapping[str, Any]) -> None:
        self.hello = dict(message)
        if message.get("error"):
            self.run_status = ProbeStatus.MISSING
            self._add_problem(f"cannot import {self.framework}: {message['error']}")
            return
        listed = message.get("probes")
        if self.expected is None and isinstance(listed, list):
            self.expected = tuple(str(name) for name in listed)
        versions = {str(k): str(v) for k, v in (message.get("versions") or {}).items()}
        seconds = message.get("import_seconds")
        self._on_event(
            WorkerReady(
                self.framework,
                versions,
                float(seconds) if isinstance(seconds, int | float) else None,
            )
        )

    def _stalled(self, worker: _Worker) -> Outcome:
        """The deadline passed with no message: kill the worker, then decide what is lost."""
        worker.kill()
        self.worker = None
        if self.done or self.run_status is ProbeStatus.MISSING:
            return "finished"
        if self.current is not None:
            if not self.current_failed:
                self._fail_current(
                    f"no result within {self.options.timeout_s:g} s; the worker was killed",
                    ProbeStatus.TIMEOUT,
                )
            self.current = None
            return "restart"
        if self.hello is None:
            startup = self.options.startup_timeout_s
            waited = startup if startup is not None else self.options.timeout_s
            reason = f"worker sent no hello within {waited:g} s"
        else:
            reason = f"worker went silent for {self.options.timeout_s:g} s between probes"
        self._add_problem(reason)
        if self.progress and self.expected is not None:
            return "restart"
        self._fail_unstarted(reason)
        return "finished"

    def _exited(self, worker: _Worker, code: int) -> Outcome:
        if self.run_status is ProbeStatus.MISSING or (code == MISSING_EXIT_CODE and not self.done):
            self.run_status = ProbeStatus.MISSING
            if not self.run_problems:
                tail = worker.stderr_tail() or describe_exit(code)
                self._add_problem(f"cannot import {self.framework}: {tail}")
            return "finished"
        if code == 0 and self.done:
            if self.current is not None and not self.current_failed:
                self._fail_current("protocol error: the worker said done before the probe's result")
            self._fail_unstarted("the worker finished without running it")
            return "finished"
        why = describe_exit(code) if code != 0 else "worker exited without saying done"
        if self.hello is None:
            why += " before its hello"
        tail = worker.stderr_tail()
        reason = f"{why}: {tail}" if tail else why
        if self.current is not None and not self.current_failed:
            self._fail_current(reason)
            if self.expected is None:
                self._add_problem(f"{why}; the probes after {self.current[0]} did not run")
        else:
            self._add_problem(reason)
        self.current = None
        self._fail_unstarted(why)
        return "finished"

    # -- the framework -------------------------------------------------------------------------
    def run(self) -> None:
        self._on_event(
            FrameworkStarted(self.framework, self.interpreter, self.expected, self.target.params)
        )
        if not self.interpreter.exists():
            self.run_status = ProbeStatus.MISSING
            self._add_problem(
                f"interpreter not found: {self.interpreter.path} ({self.interpreter.source})"
            )
            self._close()
            return
        names: Sequence[str] = self.target.probes or self.options.probes
        try:
            while self._run_worker(names) == "restart":
                if self.expected is None:
                    self._add_problem(
                        "the probe list is unknown, so the probes after the stalled one did not run"
                    )
                    break
                names = [n for n in self.expected if n not in self.finished_names]
                if not names:
                    break
        finally:
            if self.worker is not None:  # interrupted: never leave a worker behind
                self.worker.kill()
                self.worker = None
        self._close()

    def _close(self) -> None:
        if self.run_problems:
            more = f"; and {self.dropped_problems} more" if self.dropped_problems else ""
            self._record(
                FRAMEWORK_PROBE, self.run_status, error="; ".join(self.run_problems) + more
            )


def run_probes(
    interpreters: Mapping[str, Interpreter] | Sequence[ProbeTarget],
    options: RunOptions | None = None,
    *,
    on_record: Callable[[ProbeRecord], object] | None = None,
    on_event: Callable[[Event], None] | None = None,
    run_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    host: tuple[dict[str, Any], str] | None = None,
    store: Path | None = None,
    lock_wait_s: float = 0.0,
) -> list[ProbeRecord]:
    """Probe each framework in turn (dict order) and return every record made.

    `interpreters` maps frameworks to interpreters, or lists targets (`ProbeTarget`: a framework
    may then run in several workers, e.g. a front-end once per backend).

    `on_record` sees each record as soon as it is known (the CLI stores it there, so an
    interruption keeps it); KeyboardInterrupt kills the running worker and propagates. The run
    holds the lock of `store` (default: the default store) throughout; RunLockError if another
    run holds it for longer than `lock_wait_s`, or if probe runs are disabled here.
    """
    disabled = os.environ.get(RUNS_ENV, "")
    if disabled.startswith("disabled"):
        raise RunLockError(f"probe runs are {disabled}")
    options = options or RunOptions()
    run_id = run_id or uuid.uuid4().hex
    records: list[ProbeRecord] = []
    notify = on_event or (lambda event: None)

    def emit(record: ProbeRecord) -> None:
        records.append(record)
        if on_record is not None:
            on_record(record)
        notify(RecordMade(record))

    if store is None:
        from probes.store import default_store_path

        store = default_store_path()
    with (
        RunLock(host_lock_path(), wait_s=lock_wait_s, scope="this machine"),
        RunLock(lock_path_for(Path(store)), wait_s=lock_wait_s),
    ):
        host = host or host_fingerprint()
        quiet = options.quiet_reference_s
        targets = (
            [ProbeTarget(fw, interpreter) for fw, interpreter in interpreters.items()]
            if isinstance(interpreters, Mapping)
            else list(interpreters)
        )
        for target in targets:
            run = _FrameworkRun(
                framework=target.framework,
                interpreter=target.interpreter,
                target=target,
                options=options,
                run_id=run_id,
                host=host,
                emit=emit,
                on_event=notify,
                environ=os.environ if environ is None else environ,
            )
            if options.host_check:
                check = reference_check()
                if check is not None:
                    quiet = check.seconds if quiet is None else min(quiet, check.seconds)
                run.busy = busy_reason(check, quiet)
                run.reference_s = check.seconds if check else None
            run.run()
        from probes.scaling import scaling_records

        for derived in scaling_records(records):
            emit(derived)
    return records


def host_lock_path() -> Path:
    """One probe run at a time on this machine, whatever store each writes to (per user: the
    lock lives in the user's temporary folder)."""
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"advisor-probe-run-{uid}.lock"
