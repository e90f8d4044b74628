"""Mutation testing of the core, the probe worker and the store, with a kill ratio per module.

Runs mutmut (configured in pyproject.toml's [tool.mutmut]: which modules are mutated and which
in-process tests try to kill each mutant), then reads mutmut's per-module result files and prints,
per module, how many mutants the tests killed. Mutants listed in dev/equivalent_mutants/*.toml
(with the reason each cannot change behaviour) are left out of the ratio and printed.

    .venv/bin/python dev/mutation.py              # run everything, then report (hours on 2 cores:
                                                  # the engine, what-if and robustness mutants)
    .venv/bin/python dev/mutation.py "probes.worker*"   # only these mutants (mutmut's globs)
    .venv/bin/python dev/mutation.py --report     # report the last run again
    .venv/bin/python dev/mutation.py --survivors  # also list every surviving mutant by name
    .venv/bin/python dev/mutation.py --sample 40 "advisor.core.engine*"
                                      # a seeded random sample of 40 mutants per module matched:
                                      # the kill ratio over the sample, with a 95 % interval

Exit status 0 when every module ran and reaches --min (default 85%), 1 when one did not, 2 on bad
use.
Not part of CI: it takes hours on 2 cores (README, "Tests that catch a wrong answer"). Only the
standard library here; mutmut is a dev dependency.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import random
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
SAMPLE = MUTANTS / "sample.json"
"""the names drawn by the last --sample run, per module: the report scores those modules on them"""
NO_MUTANT = "advisor.core.no_such_module.x__none__mutmut_1"
"""a name no mutant has: `mutmut run` with it only generates the mutants and times the tests"""
EQUIVALENT = ROOT / "dev" / "equivalent_mutants"

# mutmut's exit codes (mutmut/stats.py): a mutant is killed when a test failed (1, 3), timed out
# or crashed the interpreter; it survived when every test passed (0); "no tests" when no selected
# test reaches its function.
KILLED = {1, 3, 24, -24, 36, 152, 255, -11, -9}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class ModuleTally:
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    sample: int | None = None
    """scored on a random sample (--sample) of this many mutants, not all of them"""

    @property
    def scored(self) -> int:
        return self.counts["killed"] + self.counts["survived"] + self.counts["no tests"]

    @property
    def ratio(self) -> float:
        return self.counts["killed"] / self.scored if self.scored else 1.0


def _equivalent_mutants() -> dict[str, str]:
    """[[mutant]] tables (mutant = mutmut's name, reason = why no test can tell it apart)."""
    found: dict[str, str] = {}
    for path in sorted(EQUIVALENT.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        for entry in data.get("mutant", []):
            found[str(entry["mutant"])] = str(entry["reason"])
    return found


def _exit_codes() -> dict[str, dict[str, int | None]]:
    """mutmut's verdict per mutant name, per module (dotted name)."""
    found = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(MUTANTS).with_suffix("").with_suffix("").parts)
        found[module] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return found


def _sampled() -> dict[str, list[str]]:
    if not SAMPLE.exists():
        return {}
    data: dict[str, list[str]] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def draw_sample(
    size: int, patterns: list[str], seed: int, equivalent: dict[str, str]
) -> dict[str, list[str]]:
    """`size` mutant names per module with a name matching `patterns` (all modules when none),
    drawn with a seeded generator from the non-equivalent ones; saved for the report."""
    chosen: dict[str, list[str]] = {}
    for module, codes in _exit_codes().items():
        names = sorted(
            n
            for n in codes
            if n not in equivalent and (not patterns or any(fnmatch.fnmatch(n, p) for p in patterns))
        )
        if names:
            chosen[module] = sorted(random.Random(f"{seed}:{module}").sample(names, min(size, len(names))))
    SAMPLE.write_text(json.dumps({**_sampled(), **chosen}, indent=1), encoding="utf-8")
    return chosen


def wilson_interval(killed: int, scored: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for a kill ratio estimated from a sample."""
    if scored == 0:
        return 0.0, 1.0
    p = killed / scored
    centre = (p + z * z / (2 * scored)) / (1 + z * z / scored)
    half = z * math.sqrt(p * (1 - p) / scored + z * z / (4 * scored * scored)) / (1 + z * z / scored)
    return max(0.0, centre - half), min(1.0, centre + half)


def tally(equivalent: dict[str, str]) -> dict[str, ModuleTally]:
    """Per module (dotted name), what became of its mutants in the last run; a module sampled
    by --sample is scored on the names drawn."""
    modules: dict[str, ModuleTally] = {}
    sampled = _sampled()
    for module, every in _exit_codes().items():
        entry = modules.setdefault(module, ModuleTally())
        exit_codes = every
        if module in sampled:
            entry.sample = len(every)
            exit_codes = {n: every.get(n) for n in sampled[module]}
        for name, code in exit_codes.items():
            if name in equivalent:
                entry.equivalent.append(name)
            elif code in KILLED:
                entry.counts["killed"] += 1
            elif code in SURVIVED:
                entry.counts["survived"] += 1
                entry.survivors.append(name)
            elif code in NO_TESTS:
                entry.counts["no tests"] += 1
                entry.survivors.append(name)
            else:  # not run yet, skipped, suspicious: neither a kill nor a survivor
                entry.counts["not checked"] += 1
    return modules


def report(minimum: float, survivors: bool) -> int:
    equivalent = _equivalent_mutants()
    modules = tally(equivalent)
    if not modules:
        print("mutation: no results under mutants/ (run without --report first)", file=sys.stderr)
        return 2
    print(f"{'module':42} {'killed':>7} {'survived':>8} {'no test':>7} {'equiv':>5} {'ratio':>7}")
    below = []
    total = ModuleTally()
    unscored = []
    for module, entry in modules.items():
        total.counts.update(entry.counts)
        total.equivalent += entry.equivalent
        if not entry.scored:  # none of its mutants ran (a run limited to other modules)
            unscored.append(module)
            flag, shown = "  not run", "-"
        else:
            flag = "" if entry.ratio >= minimum else "  < min"
            shown = f"{entry.ratio:.1%}"
        if flag == "  < min":
            below.append(module)
        print(
            f"{module:42} {entry.counts['killed']:7} {entry.counts['survived']:8} "
            f"{entry.counts['no tests']:7} {len(entry.equivalent):5} {shown:>7}{flag}"
        )
        if entry.sample is not None and entry.scored:
            low, high = wilson_interval(entry.counts["killed"], entry.scored)
            print(
                f"{'':42} (a random sample of {entry.scored} of its {entry.sample} mutants: "
                f"95 % interval {low:.1%}-{high:.1%})"
            )
        if entry.counts["not checked"]:
            print(f"{'':42} ({entry.counts['not checked']} not checked: run again)")
    print(
        f"{'all':42} {total.counts['killed']:7} {total.counts['survived']:8} "
        f"{total.counts['no tests']:7} {len(total.equivalent):5} {total.ratio:7.1%}"
    )
    if equivalent:
        print("\nequivalent mutants (left out of the ratio; reasons in dev/equivalent_mutants/):")
        for name in sorted(n for entry in modules.values() for n in entry.equivalent):
            print(f"  {name}: {equivalent[name]}")
    if survivors:
        print("\nsurvivors (`.venv/bin/mutmut show NAME` prints the change):")
        for entry in modules.values():
            for name in entry.survivors:
                print(f"  {name}")
    if below:
        print(f"\nbelow {minimum:.0%}: {', '.join(below)}")
        return 1
    if unscored:
        print(f"\nnot run: {', '.join(unscored)} (run without mutant names to score every module)")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report the last run, run nothing")
    parser.add_argument("--survivors", action="store_true", help="list every surviving mutant")
    parser.add_argument("--min", type=float, default=85.0, help="kill ratio per module, percent")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants at once")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="run a seeded random sample of N mutants per module (of those the "
                        "names or globs match) and score those modules on it")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    parser.add_argument("mutants", nargs="*", help="only these mutant names or globs (mutmut's syntax)")
    args = parser.parse_args(argv)
    if not 0 <= args.min <= 100:
        parser.error("--min must be a percentage between 0 and 100")
    if args.sample is not None and args.sample < 1:
        parser.error("--sample must be a positive number of mutants")
    if not args.report:
        mutmut = Path(sys.executable).with_name("mutmut")
        if not mutmut.exists():
            print("mutation: mutmut is not installed here (it is in the dev extra: ./setup.sh)", file=sys.stderr)
            return 2
        names = args.mutants
        if args.sample is not None:
            if not _exit_codes():
                # mutmut generates the mutants and times the tests, then refuses a name that
                # matches none (exit 1): what counts is that the mutants are there now
                _mutmut(mutmut, args.jobs, [NO_MUTANT], quiet=True)
                if not _exit_codes():
                    print("mutation: mutmut generated no mutants (see mutants/)", file=sys.stderr)
                    return 2
            chosen = draw_sample(args.sample, args.mutants, args.seed, _equivalent_mutants())
            names = [n for drawn in chosen.values() for n in drawn]
            print(f"mutation: {len(names)} mutants drawn from {len(chosen)} module(s)")
        if _mutmut(mutmut, args.jobs, names) != 0:
            return 2
    return report(args.min / 100, args.survivors)


def _mutmut(mutmut: Path, jobs: int, names: list[str], quiet: bool = False) -> int:
    # mutmut redraws a progress line many times a second; keep only its final lines.
    run = subprocess.run(
        [str(mutmut), "run", "--max-children", str(jobs), *names],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if quiet:
        return run.returncode
    lines = [line for line in run.stdout.replace("\r", "\n").splitlines() if line.strip()]
    print("\n".join(lines[-3:]))
    if run.returncode != 0:
        print(run.stderr[-4000:], file=sys.stderr)
        print(f"mutation: mutmut exited with {run.returncode}", file=sys.stderr)
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
