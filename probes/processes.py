"""Child processes that cannot outlive the advisor: own process group, parent-death signal.

Probe workers and the Streamlit server each start in a new session (so their process group is
theirs alone and can be killed as a whole, with whatever they started). Every orderly path
(exit, Ctrl-C, SIGTERM, SIGHUP, a timeout) kills the group explicitly (`kill_group`,
`stop_group`). For the advisor dying without cleaning up (SIGKILL, a crash):
- on Linux the child has PR_SET_PDEATHSIG: the kernel sends it SIGKILL at once;
- a `Guard` watchdog (a tiny Python process of its own) reads a pipe only the advisor writes to;
  when the advisor is gone the pipe closes and the watchdog SIGKILLs the child's whole group,
  including what the child started (which the parent-death signal does not reach).

Standard library only: the UI launcher and the probe runner share it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def child_setup(death_signal: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `death_signal` when this process dies (Linux;
    None elsewhere). The child exits at once if this process already died before it was set."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None
    parent = os.getpid()

    def setup() -> None:
        prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl
            os._exit(1)

    return setup


def popen_options() -> dict[str, object]:
    """Popen keyword arguments for a child in its own process group that dies with us."""
    if os.name != "posix":
        return {}
    setup = child_setup()
    return {"start_new_session": True, **({"preexec_fn": setup} if setup else {})}


_WATCHDOG = """
import os, signal, sys
group = int(sys.argv[1])
def stop(*_):
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
    os._exit(0)
for name in ("SIGINT", "SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), stop)
try:
    while os.read(0, 4096):
        pass
except OSError:
    pass
stop()
"""


class Guard:
    """A watchdog that SIGKILLs process group `group` once this process has gone (or `release`
    is called). POSIX only; elsewhere, or if it cannot start, it guards nothing."""

    def __init__(self, group: int) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        if os.name != "posix":
            return
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG, str(group)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            self.process = None

    def release(self) -> None:
        """Let the watchdog go (it kills the group, normally empty by now, and exits)."""
        watchdog, self.process = self.process, None
        if watchdog is None:
            return
        with contextlib.suppress(OSError):
            if watchdog.stdin is not None:
                watchdog.stdin.close()
        try:
            watchdog.wait(timeout=5)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()


def signal_group(process: subprocess.Popen[bytes] | subprocess.Popen[str], signum: int) -> None:
    """Send `signum` to the child's whole process group (to the child alone off POSIX)."""
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if os.name == "posix":
            os.killpg(process.pid, signum)
        elif signum == getattr(signal, "SIGKILL", None):
            process.kill()
        else:
            process.terminate()


def kill_group(
    process: subprocess.Popen[bytes] | subprocess.Popen[str], wait_s: float = 10
) -> None:
    """SIGKILL the child's process group (also when the child itself already exited: what it
    started may live on in the group) and reap the child."""
    signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=wait_s)


def stop_group(
    process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 1.0
) -> int | None:
    """SIGTERM the child's group, give it `grace_s` to finish, then SIGKILL the group."""
    if process.poll() is None:
        signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    kill_group(process)
    return process.returncode
