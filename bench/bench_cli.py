"""How fast the advice comes, as ratios against references measured in the same run.

1. Cold `python -m advisor recommend --answers examples/X.toml` (median of 5 fresh processes)
   against `python -c "import pydantic"` (the floor any pydantic CLI pays). Target: <= 3x.
2. In-process `recommend()` calls per second (target >= 2,000), against a `Requirements`
   validation of the same answers as the reference.

Run: .venv/bin/python bench/bench_cli.py [examples/X.toml]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def _cold(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    example = sys.argv[1] if len(sys.argv) > 1 else "examples/nlp-research-lab.toml"
    _cold(["-c", "pass"])  # warm the page cache before measuring anything
    pydantic_s = _cold(["-c", "import pydantic"])
    cli_s = _cold(["-m", "advisor", "recommend", "--answers", example, "--no-calibrate"])
    cli_cal_s = _cold(["-m", "advisor", "recommend", "--answers", example])
    print(f"import pydantic (reference)        {pydantic_s * 1000:7.1f} ms")
    print(
        f"advisor recommend --no-calibrate   {cli_s * 1000:7.1f} ms  ratio {cli_s / pydantic_s:.2f}x (target <= 3x)"
    )
    print(
        f"advisor recommend (reads store)    {cli_cal_s * 1000:7.1f} ms  ratio {cli_cal_s / pydantic_s:.2f}x"
    )

    sys.path.insert(0, str(ROOT))
    from advisor.answers import read_answers
    from advisor.engine import recommend
    from advisor.questionnaire import Requirements

    data = read_answers(str(ROOT / example))
    requirements = Requirements.model_validate(data)
    recommend(requirements)  # load the knowledge once, as a long-lived process would
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        Requirements.model_validate(data)
    validate_rate = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(n):
        recommend(requirements)
    rate = n / (time.perf_counter() - start)
    print(f"Requirements validation (reference) {validate_rate:9.0f} /s")
    print(
        f"recommend() in-process              {rate:9.0f} /s  ratio {rate / validate_rate:.3f} (target >= 2,000/s)"
    )


if __name__ == "__main__":
    main()
