"""How long the decision analysis and the what-if search take, against one `recommend()`.

1. `analyse_robustness` at 10,000 samples (target: under 150 ms), median of 20 runs: the full
   SMAA-2 (score spreads, score and weight draws, rank acceptability, central weights, confidence
   factors, pairwise indices, the no-preference set, crossovers, TOPSIS) for every eligible
   candidate (five frameworks, one of them a front-end scored on three backends) on eleven criteria.
2. The same at 2,000 samples, and the SMAA-2 core alone (sampling every cell and the indices)
   on 10,000 draws in one chunk (the analysis takes them 2,000 at a time).
3. `smallest_flips` (a full search over priorities and answers, crossovers checked), median of 5.
Each is printed with its ratio to a single in-process `recommend()` measured in the same run.

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

import numpy as np  # noqa: E402

from advisor.core.decision import smaa  # noqa: E402
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
    rows = sum(max(1, len(r.options)) for r in rec.ranking)
    criteria = len(rec.ranking[0].criteria)
    one = _median_s(lambda: recommend(requirements), 200)
    full = _median_s(lambda: analyse_robustness(rec, samples=10_000), 20)
    small = _median_s(lambda: analyse_robustness(rec, samples=2_000), 20)

    def core() -> None:
        rng = np.random.default_rng(0)
        mean = np.full((rows, criteria), 3.0)
        sd = np.full((rows, criteria), 0.5)
        draws = smaa.sample_scores(mean, sd, sd, np.full(mean.shape, -1), rng, 10_000)
        weights = smaa.any_priorities(criteria, rng, 10_000)
        smaa.smaa2(draws, weights, np.arange(rows))

    core_s = _median_s(core, 20)
    flips = _median_s(lambda: smallest_flips(requirements), 5)
    evaluated = smallest_flips(requirements).evaluated
    print(f"example: {example}: {len(rec.ranking)} candidates ({rows} scored rows) x {criteria} "
          "criteria")  # fmt: skip
    print(f"recommend() once:                       {one * 1e3:8.2f} ms (reference)")
    print(f"SMAA-2 analysis, 10,000 samples:        {full * 1e3:8.2f} ms  = {full / one:6.1f}x "
          "reference  (target < 150 ms)")  # fmt: skip
    print(f"SMAA-2 analysis, 2,000 samples:         {small * 1e3:8.2f} ms  = {small / one:6.1f}x "
          "reference")  # fmt: skip
    print(f"SMAA-2 core, 10,000 draws in one chunk: {core_s * 1e3:8.2f} ms  = "
          f"{core_s / one:6.1f}x reference")  # fmt: skip
    print(f"what-if search ({evaluated} questionnaires): {flips * 1e3:8.2f} ms  = "
          f"{flips / one:6.1f}x reference")  # fmt: skip


if __name__ == "__main__":
    main()
