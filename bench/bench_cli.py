"""How fast the advice comes, as ratios against references measured in the same run.

1. Cold `python -m advisor recommend --answers examples/X.toml` (median of 5 fresh processes)
   against `python -c "import pydantic"` (the floor any pydantic CLI pays). Target: <= 3x.
   The runs are interleaved (reference, advice, advice without the store, and again), so a
   machine that speeds up or slows down mid-run moves both sides of the ratio alike. The
   no-calibrate line shows what reading the probe store costs.
2. In-process `recommend()` calls per second (target >= 2,000), against a `Requirements`
   validation of the same answers as the reference.

Run: .venv/bin/python bench/bench_cli.py [examples/X.toml] [runs, default 5]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cold(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall times of each command over `runs` fresh processes, taken in turn."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    example = sys.argv[1] if len(sys.argv) > 1 else "examples/nlp-research-lab.toml"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    advice = ["-m", "advisor", "recommend", "--answers", example]
    _cold({"warm-up": ["-c", "pass"], "advice": advice}, 1)  # page cache, compiled knowledge
    cold = _cold(
        {
            "pydantic": ["-c", "import pydantic"],
            "advice": advice,
            "no-calibrate": [*advice, "--no-calibrate"],
        },
        runs,
    )
    median = {name: statistics.median(values) for name, values in cold.items()}
    fastest = {name: min(values) for name, values in cold.items()}
    print(f"{runs} runs each; median (the bar's measure), then the fastest run, which a busy")
    print("machine disturbs least")
    for name, label in (
        ("pydantic", "import pydantic (reference)     "),
        ("advice", "advisor recommend --answers FILE"),
        ("no-calibrate", "  the same with --no-calibrate  "),
    ):
        line = f"{label} {median[name] * 1000:7.1f} ms  fastest {fastest[name] * 1000:7.1f} ms"
        if name != "pydantic":
            line += (
                f"  ratio {median[name] / median['pydantic']:.2f}x"
                f" (fastest {fastest[name] / fastest['pydantic']:.2f}x)"
            )
            if name == "advice":
                line += "  target <= 3x"
        print(line)

    sys.path.insert(0, str(ROOT))
    from advisor.core.engine import recommend
    from advisor.core.questionnaire import Requirements
    from advisor.files.answer_files import read_answers

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
