"""How long the robustness analysis and the what-if search take, against one `recommend()`.

1. `analyse_robustness` at 2,000 samples (target: under 200 ms), median of 20 runs.
2. `smallest_flips` (a full search over priorities and answers), median of 5 runs.
Both are printed with their ratio to a single in-process `recommend()` measured in the same run.

Run: .venv/bin/python bench/bench_robustness.py [examples/X.toml]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.core.decision.robustness import analyse_robustness  # noqa: E402
from advisor.core.decision.whatif import smallest_flips  # noqa: E402
from advisor.core.engine import recommend  # noqa: E402
from advisor.files.answer_files import load_answers  # noqa: E402


def _median_s(action: Callable[[], Any], runs: int) -> float:
    action()  # warm caches (knowledge load, numpy)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    example = sys.argv[1] if len(sys.argv) > 1 else "examples/mobile-vision-app.toml"
    requirements = load_answers(ROOT / example)
    rec = recommend(requirements)
    one = _median_s(lambda: recommend(requirements), 200)
    robust = _median_s(lambda: analyse_robustness(rec, samples=2000), 20)
    flips = _median_s(lambda: smallest_flips(requirements), 5)
    evaluated = smallest_flips(requirements).evaluated
    print(f"example: {example}")
    print(f"recommend() once:                 {one * 1e3:8.2f} ms (reference)")
    print(f"robustness, 2,000 samples:        {robust * 1e3:8.2f} ms  = {robust / one:6.1f}x "
          f"reference  (target < 200 ms)")  # fmt: skip
    print(f"what-if search ({evaluated} questionnaires): {flips * 1e3:8.2f} ms  = "
          f"{flips / one:6.1f}x reference")  # fmt: skip


if __name__ == "__main__":
    main()
