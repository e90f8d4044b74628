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
"""

import contextlib
import gc
import os
import sys
from typing import NoReturn


def run() -> NoReturn:
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
    for stream in (sys.stdout, sys.stderr):
        # a reader that went away, or a closed stream: nothing left to deliver
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
