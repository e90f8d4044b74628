"""`recommend` against a store that holds records: the figures of this machine move the runtime
scores the way they point, figures of another machine or --no-calibrate leave the priors alone."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from probes.fingerprint import machine_fingerprint, machine_id
from probes.records import ProbeRecord, ProbeStatus, Spread
from probes.store import open_store

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = """\
schema_version = 1
[project]
tasks = ["computer_vision"]
stage = "prototype"
[hardware]
accelerators = ["cpu"]
[deployment]
targets = ["none"]
"""
# The real worker's probe names and units (probes/catalogue.py), per framework: steps per second
# of the residual conv block and of the eager MLP.
FIGURES = {
    "conv_train_step": ("images/s", {"batch": 8, "channels": 16, "size": 32, "kernel": 3}),
    "mlp_train": ("steps/s", {"batch": 64, "inputs": 256, "hidden": 512, "mode": "eager"}),
}


def store_with(tmp_path: Path, speed: dict[str, float], machine: str | None = None) -> Path:
    fingerprint = machine_fingerprint()
    here = machine or machine_id(fingerprint)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "probes.sqlite3"
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    records = [
        ProbeRecord(
            framework=framework, probe=probe, status=ProbeStatus.OK, value=value * factor,
            unit=unit, higher_is_better=True,
            params={**params, "dtype": "float32", "device": "cpu", "threads": 1},
            spread=Spread(cv=0.02, iqr=None, repeats=9), versions={framework: "1.0"},
            machine=fingerprint, machine_id=here, measured_at=now, run_id="test",
        )
        for framework, factor in speed.items()
        for probe, (unit, params) in FIGURES.items()
        for value in [100.0]
    ]
    with open_store(path) as store:
        store.add(records)
    return path


def recommend(tmp_path: Path, store: Path, *extra: str) -> dict[str, Any]:
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS)
    result = subprocess.run(
        [sys.executable, "-m", "advisor", "recommend", "--answers", str(answers),
         "--store", str(store), "--format", "json", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def runtime(data: dict[str, Any]) -> dict[str, float]:
    return {
        entry["framework"]: next(
            c["score"] for c in entry["criteria"] if c["criterion"] == "runtime_performance"
        )
        for entry in data["ranking"]
        if not entry.get("backend")
    }


def test_measured_speed_moves_runtime_scores_the_way_it_points(tmp_path: Path) -> None:
    prior = runtime(recommend(tmp_path, store_with(tmp_path / "a", {}), "--no-calibrate"))
    fast_torch = recommend(tmp_path, store_with(tmp_path / "b", {"pytorch": 8.0, "tensorflow": 1.0}))
    fast_tf = recommend(tmp_path, store_with(tmp_path / "c", {"pytorch": 1.0, "tensorflow": 8.0}))
    for data in (fast_torch, fast_tf):
        assert data["calibration"]["used"], data["calibration"]["reason"]
        assert "this machine" in data["calibration"]["reason"]
        measured = {f["framework"] for f in data["calibration"]["frameworks"] if f["figures"]}
        assert measured == {"pytorch", "tensorflow"}
    torch_ahead, tf_ahead = runtime(fast_torch), runtime(fast_tf)
    assert torch_ahead["pytorch"] > prior["pytorch"] and torch_ahead["tensorflow"] < prior["tensorflow"]
    assert tf_ahead["tensorflow"] > prior["tensorflow"] and tf_ahead["pytorch"] < prior["pytorch"]
    # Frameworks without figures keep their prior.
    assert torch_ahead["jax"] == prior["jax"] == tf_ahead["jax"]


def test_figures_of_another_machine_or_no_calibrate_leave_the_priors(tmp_path: Path) -> None:
    prior = runtime(recommend(tmp_path, store_with(tmp_path / "a", {}), "--no-calibrate"))
    elsewhere = store_with(tmp_path / "b", {"pytorch": 8.0, "tensorflow": 1.0}, machine="another")
    data = recommend(tmp_path, elsewhere)
    assert not data["calibration"]["used"] and runtime(data) == prior
    here = store_with(tmp_path / "c", {"pytorch": 8.0, "tensorflow": 1.0})
    data = recommend(tmp_path, here, "--no-calibrate")
    assert not data["calibration"]["used"] and runtime(data) == prior
