"""The machine fingerprint asks nvidia-smi once per boot when given a cache file.

A fake nvidia-smi on PATH stands in for the driver's tool (this machine may have no GPU); it
counts its own invocations, so the tests see exactly when the real command would have run.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from probes import fingerprint
from probes.fingerprint import machine_fingerprint, machine_id

needs_boot_id = pytest.mark.skipif(
    not fingerprint.BOOT_ID.exists(), reason="no boot id on this OS: nothing is cached"
)


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake `nvidia-smi` first on PATH; returns the file it appends one line to per call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    script = bin_dir / "nvidia-smi"
    script.write_text(f'#!/bin/sh\necho call >> "{calls}"\necho "Fake H100, 81559"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _calls(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_without_a_cache_every_fingerprint_asks_nvidia_smi(fake_smi: Path) -> None:
    first = machine_fingerprint()
    assert first["gpus"] == [{"name": "Fake H100", "memory_gb": 79.6}]
    machine_fingerprint()
    assert _calls(fake_smi) == 2


@needs_boot_id
def test_a_cache_written_this_boot_answers_without_nvidia_smi(
    fake_smi: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "gpus.json"
    first = machine_fingerprint(gpu_cache=cache)
    second = machine_fingerprint(gpu_cache=cache)
    assert _calls(fake_smi) == 1
    assert second["gpus"] == first["gpus"] == [{"name": "Fake H100", "memory_gb": 79.6}]
    assert machine_id(second) == machine_id(first)
    assert json.loads(cache.read_text())["boot_id"] == fingerprint.BOOT_ID.read_text().strip()


@needs_boot_id
def test_a_cache_from_another_boot_or_corrupt_is_asked_again(
    fake_smi: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "gpus.json"
    cache.write_text(json.dumps({"boot_id": "an earlier boot", "gpus": []}))
    assert machine_fingerprint(gpu_cache=cache)["gpus"][0]["name"] == "Fake H100"
    cache.write_text("{not json")
    assert machine_fingerprint(gpu_cache=cache)["gpus"][0]["name"] == "Fake H100"
    assert _calls(fake_smi) == 2
    machine_fingerprint(gpu_cache=cache)
    assert _calls(fake_smi) == 2  # rewritten by the last ask


@needs_boot_id
def test_refresh_asks_again_and_an_unwritable_cache_only_costs_speed(
    fake_smi: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "gpus.json"
    machine_fingerprint(gpu_cache=cache)
    machine_fingerprint(gpu_cache=cache, refresh=True)
    assert _calls(fake_smi) == 2
    blocked = tmp_path / "a-file" / "gpus.json"
    (tmp_path / "a-file").write_text("not a folder")
    assert machine_fingerprint(gpu_cache=blocked)["gpus"][0]["name"] == "Fake H100"
    assert machine_fingerprint(gpu_cache=blocked)["gpus"][0]["name"] == "Fake H100"
    assert _calls(fake_smi) == 4
