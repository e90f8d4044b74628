"""The fuzz suite at CI size (well under a minute): seeded hostile questionnaires, measurement
sets, CLI invocations, config files and damaged caches through the real boundaries, with zero
tracebacks allowed. `bench/fuzz_counts.py` runs the same harnesses at the issue's counts.

Seeds that once crashed are kept: the harnesses derive every case from (seed, index), so the
ranges below always include them, and the explicit cases restate them as plain inputs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening import fuzzing

REPO = Path(__file__).resolve().parents[2]

CI_COUNTS = {
    "questionnaires": 1_500,
    "measurement sets": 400,
    "CLI invocations": 40,
    "config files": 300,
    "damaged caches": 200,
}

# (harness, seed, index): cases that crashed before the hardening, kept so they stay fixed
REGRESSION_SEEDS = [
    ("config files", 0, 6),  # a config that is not UTF-8: UnicodeDecodeError out of tomllib
    ("config files", 0, 13),  # a deeply nested config: RecursionError out of tomllib
    ("config files", 0, 46),  # not UTF-8 again
    ("config files", 0, 869),  # an unknown key of 5,000 characters: a 5 kB error message
    ("config files", 0, 1719),  # the same
]
CLI_REGRESSIONS = [
    (0, 741),  # answers on stdin that are not UTF-8: UnicodeDecodeError out of stdin.read()
    (0, 808),  # the same, through whatif
]


@pytest.mark.parametrize("harness", list(CI_COUNTS))
def test_no_fuzzed_input_ends_in_a_traceback(harness: str) -> None:
    seeds = {seed for name, seed, _ in REGRESSION_SEEDS if name == harness} | {0}
    for seed in sorted(seeds):
        count = max(
            [CI_COUNTS[harness]]
            + [index + 1 for name, s, index in REGRESSION_SEEDS if name == harness and s == seed]
        )
        tally = fuzzing.HARNESSES[harness](count, seed)
        assert tally.tracebacks == 0, "\n\n".join(tally.failures)
        assert tally.total == count
        if harness != "damaged caches":
            assert tally.accepted > 0 and tally.refused > 0, str(tally)  # both paths exercised


def test_cli_seeds_that_once_crashed() -> None:
    for seed, index in CLI_REGRESSIONS:
        tally = fuzzing.run_cli(1, seed, indices=[index])
        assert tally.tracebacks == 0, "\n\n".join(tally.failures)


@pytest.mark.parametrize(
    "args",
    [
        ["whatif", "--task", "nlp", "--set", "project.stage=1979-05-27", "--no-calibrate"],
        ["whatif", "--task", "nlp", "--set", "deployment.targets=1979-05-27T07:32:00Z"],
        ["recommend", "--task", "nlp", "--priority", "ecosystem=" + "9" * 5000],
        ["recommend", "--task", "nlp\x1b[2J", "--no-calibrate"],
        ["probe", "--show", "--timeout", "1e308"],
        ["probe", "--show", "--threads", "9" * 5000],
        ["ui", "--host", "0.0.0.0"],
        ["explain", "\x1b]0;x\x07", "--task", "nlp"],
        ["recommend", "--answers", "-"],  # stdin below: not UTF-8
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_cli_regressions_end_in_a_message_not_a_traceback(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        cwd=REPO,
        input=b'{"project": {"tasks": ["\xed\xa0\x80nlp"]}}',
        capture_output=True,
        timeout=120,
        check=False,
    )
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and done.returncode in (0, 2), err
    assert "\x1b" not in out + err
