"""Plant each bug of dev/planted_bugs.toml, one at a time, in a scratch copy of the project and run
the tests named beside it: every plant must make at least one of them fail.

These are the wrong answers a review once planted and the suite let through (scores scaled, the
reference check switched off, the schema's $defs dropped, calibration factors broken, the wrong
payload in a download...). mutmut (dev/mutation.py) tries thousands of small changes; this keeps
those particular ones caught, with the test that catches each.

    .venv/bin/python dev/planted_bugs.py            # every plant (a few minutes)
    .venv/bin/python dev/planted_bugs.py scale      # the plants whose name contains "scale"

Exit status 0 when every plant is caught, 1 when one is not, 2 when a plant no longer applies
(its `find` text is not in the file: the code moved, update the plant).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PLANTS = ROOT / "dev" / "planted_bugs.toml"
COPIED = ("advisor", "probes", "ui", "tests", "knowledge", "examples", "requirements", "dev")
FILES = ("pyproject.toml", "advisor.toml", "README.md")


@dataclass(frozen=True)
class Plant:
    name: str
    file: str
    find: str
    replace: str
    tests: list[str]


def load_plants() -> list[Plant]:
    with PLANTS.open("rb") as handle:
        data = tomllib.load(handle)
    return [
        Plant(p["name"], p["file"], p["find"], p["replace"], list(p["tests"]))
        for p in data["plant"]
    ]


def scratch_copy(into: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "mutants", ".coverage*")
    for name in COPIED:
        shutil.copytree(ROOT / name, into / name, ignore=ignore)
    for name in FILES:
        shutil.copy2(ROOT / name, into / name)
    for venv in ROOT.glob(".venv-*"):  # the framework interpreters, as they are
        (into / venv.name).symlink_to(venv)


def try_plant(plant: Plant) -> tuple[str, str]:
    """('caught' | 'missed' | 'stale', what the tests said)."""
    with tempfile.TemporaryDirectory(prefix="planted-") as tmp:
        scratch = Path(tmp)
        scratch_copy(scratch)
        target = scratch / plant.file
        text = target.read_text(encoding="utf-8")
        if text.count(plant.find) != 1:
            return "stale", f"{plant.file}: the text to replace occurs {text.count(plant.find)} times"
        target.write_text(text.replace(plant.find, plant.replace), encoding="utf-8")
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *plant.tests],
            cwd=scratch, env={**_environ(), "PYTHONPATH": str(scratch)},
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        summary = (run.stdout.strip().splitlines() or ["(no output)"])[-1]
        return ("caught" if run.returncode == 1 else "missed"), summary


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="plants whose name contains one of these")
    args = parser.parse_args(argv)
    plants = [p for p in load_plants() if not args.only or any(o in p.name for o in args.only)]
    if not plants:
        print("planted_bugs: no plant matches", file=sys.stderr)
        return 2
    outcome = {"caught": 0, "missed": 0, "stale": 0}
    for plant in plants:
        verdict, said = try_plant(plant)
        outcome[verdict] += 1
        print(f"{verdict:7} {plant.name}: {said}", flush=True)
    print(f"\n{outcome['caught']} of {len(plants)} planted bugs caught")
    if outcome["stale"]:
        return 2
    return 1 if outcome["missed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
