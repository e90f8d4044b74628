"""Shared fixtures: paths to the examples and the shipped knowledge."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SEEDS = Path(os.environ.get("ADVISOR_SEEDS_DIR") or ROOT.parent / "shared" / "seeds")


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*.toml") if p.name != "expected.toml")


def expected_verdicts() -> dict[str, dict[str, object]]:
    with (EXAMPLES / "expected.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="session")
def knowledge():  # type: ignore[no-untyped-def]
    from advisor.files.knowledge_files import load_knowledge

    return load_knowledge()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under mutmut (dev/mutation.py): quickest tests first. mutmut runs the tests that reach a
    mutant with `-x`, in no particular order, so a mutant that a 10 ms golden-score test kills
    could wait for a 6 s what-if search first; its stats run timed every test."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return
    try:
        from mutmut.state import state
    except ImportError:
        return
    durations = state().duration_by_test
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
