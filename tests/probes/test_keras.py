"""The real Keras worker on every backend the registry lists, each in its backend's interpreter.

`advisor probe --framework keras` runs one worker per backend; this runs them on the tiny suite
through the real runner and checks each installed backend gives ok Keras and native figures (both
checked against the numpy reference inside the worker) and an overhead ratio per model, with the
versions of Keras and the backend. A backend whose interpreter or packages are absent is skipped
with the reason (its record says `missing`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.cli.probe import probe_plan
from probes.catalogue import FRONTEND_PROBES
from probes.config import load_config
from probes.records import ProbeRecord, ProbeStatus
from probes.runner import RunOptions, run_probes

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("jax", "tensorflow", "pytorch")
VERSION_KEY = {"jax": "jax", "tensorflow": "tensorflow", "pytorch": "pytorch"}

pytestmark = pytest.mark.frameworks


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[ProbeRecord]]]:
    plan = probe_plan(["keras"], {}, load_config(REPO / "advisor.toml"))
    store = tmp_path_factory.mktemp("keras") / "probes.sqlite3"
    records = run_probes(
        [item.target() for item in plan],
        RunOptions(suite="tiny", threads=2, timeout_s=180),
        store=store,
    )
    yield {b: [r for r in records if r.params.get("backend") == b] for b in BACKENDS}


def _installed(records: list[ProbeRecord], backend: str) -> None:
    gone = [r for r in records if r.status is ProbeStatus.MISSING]
    if gone:
        pytest.skip(f"Keras on {backend} is not installed here: {gone[0].error} (run ./setup.sh)")


def test_the_plan_has_one_worker_per_backend_in_its_interpreter() -> None:
    plan = probe_plan(["keras"], {}, load_config(REPO / "advisor.toml"))
    assert [item.runs_on for item in plan] == list(BACKENDS)
    by = {item.runs_on: item for item in plan}
    assert by["jax"].interpreter == str(REPO / ".venv-jax" / "bin" / "python")
    assert by["tensorflow"].interpreter == by["pytorch"].interpreter
    assert all(item.environment == {"ADVISOR_PROBE_BACKEND": item.runs_on} for item in plan)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_gives_ok_figures_an_overhead_ratio_and_versions(
    tiny: dict[str, list[ProbeRecord]], backend: str
) -> None:
    records = tiny[backend]
    assert records, f"no records for Keras on {backend}"
    _installed(records, backend)
    bad = [
        f"{r.probe} {r.params}: {r.status.value}: {r.error}"
        for r in records
        if r.status is not ProbeStatus.OK
    ]
    assert not bad, bad
    assert {r.probe for r in records} == set(FRONTEND_PROBES)
    assert all(r.framework == "keras" for r in records)
    steps = {
        (r.probe, r.params["implementation"]): r
        for r in records
        if r.probe in ("mlp_train", "conv_train_step", "transformer")
    }
    assert set(steps) == {
        (probe, impl)
        for probe in ("mlp_train", "conv_train_step", "transformer")
        for impl in ("keras", "native")
    }
    for step in steps.values():
        assert step.value is not None and step.value > 0
        assert step.details["max_rel_error"] <= 2e-3  # checked against the numpy reference
    for impl in ("keras", "native"):  # one AdamW step, weight by weight, as the native probe's
        block = steps[("transformer", impl)]
        assert block.unit == "ms" and block.details["update_mismatch_share"] <= 1e-3
    assert steps[("transformer", "keras")].details["optimiser"] == "keras.optimizers.AdamW"
    overheads = {r.params["model"]: r for r in records if r.probe == "keras_overhead"}
    assert set(overheads) == {"mlp", "conv", "transformer"}
    for model, record in overheads.items():
        assert record.unit == "x" and record.higher_is_better is False
        ratio = record.value
        assert ratio is not None and math.isfinite(ratio) and ratio > 0
        assert record.details["interval_low"] <= ratio <= record.details["interval_high"], model
        assert record.spread.cv is not None and record.spread.repeats
        assert "bootstrap" in record.details["method"]
    for record in records:
        assert record.versions["keras"].startswith("3.")
        assert record.versions[VERSION_KEY[backend]]
        assert record.versions["keras_backend"] == {"pytorch": "torch"}.get(backend, backend)
