"""`python -m advisor` and the `advisor` script: the CLI process's entry point.

Two start-up and shut-down costs that a short-lived CLI need not pay (`bench/bench_cli.py`
measures both, about a tenth of a cold `recommend` together):
- Loading pydantic and the advisor's models creates tens of thousands of long-lived objects, and
  the cyclic garbage collector would walk them again and again during a start-up that frees
  nothing: collection waits until the modules are loaded, and what they built is frozen out of
  later collections.
- Tearing the interpreter down frees every one of those objects one by one, for memory the
  operating system takes back at once anyway: once the output is flushed, the process exits
  (as mypy does). Every command closes its files and joins its threads and child processes
  before it returns.

Two guards for everything a command does:
- SIGTERM and SIGHUP (a closed terminal, `kill`, a service manager) take the same path as
  Ctrl-C: they raise `Terminated` (a KeyboardInterrupt) in the main thread, so the commands'
  clean-up runs (probe workers and the Streamlit server are killed with their process groups),
  and the exit status is 128 + the signal's number. Further such signals are ignored while the
  clean-up runs.
- stdout and stderr pass through `advisor.cli.terminal.SafeStream`: control characters from files
  (escape sequences in an answers file, an imported record, a worker's output) are printed
  visibly as \\u00XX, never sent to the terminal raw.
"""

import contextlib
import gc
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

from advisor.cli.terminal import SafeStream

_received: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, delivered the way Ctrl-C is."""


def _terminate(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)
    for name in ("SIGTERM", "SIGHUP"):  # one clean-up; a second signal must not cut it short
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Terminated(signum)


def install_signal_handlers() -> None:
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)


def run() -> NoReturn:
    install_signal_handlers()
    sys.stdout = SafeStream(sys.stdout)
    sys.stderr = SafeStream(sys.stderr)
    with contextlib.suppress(AttributeError, ValueError):
        # answers piped in that are not UTF-8 reach the parser, which names the problem
        sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    try:
        gc.disable()
        try:
            from advisor.cli.main import main
        finally:
            gc.freeze()
            gc.enable()
        code = main()
    except KeyboardInterrupt:  # Ctrl-C before a command started (commands handle their own)
        code = 130
    if _received:
        code = 128 + _received[0]
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away, or a closed stream: nothing left to deliver
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
