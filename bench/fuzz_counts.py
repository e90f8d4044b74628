"""The hardening issue's fuzz counts: how many hostile inputs ended in a traceback (target: 0).

10,000 questionnaires (TOML/JSON text, parsed, validated, recommended and rendered in every
format), 3,000 measurement sets (written as export files, imported, stored, calibrated into the
advice, explained, what-if searched), 1,000 CLI invocations (real `python -m advisor` processes),
plus 2,000 config files and 2,000 damaged knowledge caches. Every case is seeded
(tests/hardening/fuzzing.py), so a failure prints a seed that reproduces it.

Run: .venv/bin/python bench/fuzz_counts.py [seed, default 0] [scale, default 1.0]
Exit status 1 if any input ended in a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hardening import fuzzing  # noqa: E402

COUNTS = {
    "questionnaires": 10_000,
    "measurement sets": 3_000,
    "CLI invocations": 1_000,
    "config files": 2_000,
    "damaged caches": 2_000,
}


def main() -> int:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ADVISOR_CACHE_DIR"] = cache  # never the user's own cache or store
        os.environ["ADVISOR_STORE"] = str(Path(cache) / "store.sqlite3")
        failed = 0
        print(f"seed {seed}")
        for name, count in COUNTS.items():
            began = time.perf_counter()
            tally = fuzzing.HARNESSES[name](max(1, round(count * scale)), seed)
            took = time.perf_counter() - began
            print(f"{name:<17} {tally}  ({took:.0f} s)", flush=True)
            for failure in tally.failures:
                print("    " + failure.replace("\n", "\n    "))
            failed += tally.tracebacks
    print(f"tracebacks in all: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
