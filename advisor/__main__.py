"""`python -m advisor` and the `advisor` script: the CLI process's entry point.

Loading pydantic and the advisor's models creates tens of thousands of long-lived objects, and
the cyclic garbage collector would walk them again and again during a start-up that frees
nothing: collection waits until the modules are loaded, and what they built is frozen out of
later collections (about a tenth of a cold `recommend`, measured with `bench/bench_cli.py`).
"""

import gc
import sys


def run() -> int:
    gc.disable()
    try:
        from advisor.cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()


if __name__ == "__main__":
    sys.exit(run())
