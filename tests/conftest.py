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
