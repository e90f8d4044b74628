"""Measurements at every boundary: record limits, imports (size, count, all problems listed), and
a store whose newest figures cost the same to read however long its history grows."""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from probes.records import MAX_VALUE, ProbeRecord
from probes.store import MAX_IMPORT_RECORDS, MAX_LATEST, open_store, params_key, read_records

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(timezone.utc)


def raw(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "framework": "pytorch",
        "probe": "matmul",
        "status": "ok",
        "value": 100.0,
        "unit": "GFLOP/s",
        "params": {"n": 512, "device": "cpu", "threads": 2},
        "machine_id": "m1",
        "measured_at": (NOW - timedelta(days=1)).isoformat(),
        "run_id": "run-a",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "value", [0.0, -1.0, math.nan, math.inf, -math.inf, 1e300, 1e-300, 5e-324, 10**400]
)
def test_an_ok_figure_must_be_finite_and_positive_and_the_error_names_the_field(
    value: float,
) -> None:
    with pytest.raises(ValidationError) as caught:
        ProbeRecord.model_validate(raw(value=value))
    assert "value" in str(caught.value)


def test_capability_flags_may_be_zero_and_failures_need_no_value() -> None:
    assert ProbeRecord.model_validate(raw(probe="capability.gpu", value=0.0)).value == 0.0
    with pytest.raises(ValidationError, match="capability"):
        ProbeRecord.model_validate(raw(probe="capability.gpu", value=2.0))
    assert ProbeRecord.model_validate(raw(status="failed", value=None)).value is None
    assert ProbeRecord.model_validate(raw(value=MAX_VALUE)).value == MAX_VALUE


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        ((NOW + timedelta(hours=2)).isoformat(), "in the future"),
        ("9999-12-31T23:59:59-12:00", "UTC"),
        ("1990-01-01T00:00:00+00:00", "before 2000"),
    ],
)
def test_implausible_times_are_rejected(moment: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as caught:
        ProbeRecord.model_validate(raw(measured_at=moment))
    assert "measured_at" in str(caught.value)


def test_times_are_kept_in_utc_and_a_little_clock_skew_is_fine() -> None:
    soon = ProbeRecord.model_validate(raw(measured_at=(NOW + timedelta(minutes=30)).isoformat()))
    assert soon.measured_at.tzinfo is timezone.utc
    offset = ProbeRecord.model_validate(raw(measured_at="2026-11-24T14:00:00+02:00"))
    assert offset.measured_at == datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    naive = ProbeRecord.model_validate(raw(measured_at="2026-11-24T12:00:00"))
    assert naive.measured_at == offset.measured_at


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("details", {"deep": _nested(50)}),
        ("details", {"text": "x" * 100_000}),
        ("details", {"n": 10**30}),
        ("params", {"n": 512, "k": list(range(1000))}),
        ("machine", {"cpu": "y" * 50_000}),
        ("error", "e" * 20_000),
        ("versions", {"torch": "v" * 500}),
        ("spread", {"cv": math.nan}),
        ("spread", {"iqr": -1.0}),
    ],
)
def test_free_form_fields_have_limits(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        ProbeRecord.model_validate(raw(**{field: value}))
    assert field in str(caught.value)


# -- imports ---------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor", "probe", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_big_import_needs_force_and_then_stays_quick(tmp_path: Path) -> None:
    source = tmp_path / "big.json"
    count = MAX_IMPORT_RECORDS + 1
    source.write_text(json.dumps([raw(probe=f"p{i}", run_id="r") for i in range(count)]))
    store = tmp_path / "s.sqlite3"
    refused = _cli("--store", str(store), "--import", str(source))
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    began = time.monotonic()
    forced = _cli("--store", str(store), "--import", str(source), "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"imported {count} new record(s)" in forced.stderr
    assert time.monotonic() - began < 60


def test_an_import_names_every_bad_record_and_field_and_stores_nothing(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    future = (NOW + timedelta(days=400)).isoformat()
    records = [raw(value=0.0), raw(probe="ok"), raw(measured_at=future), raw(value=math.inf)]
    source.write_text(json.dumps(records).replace("Infinity", "1e999"))
    store = tmp_path / "s.sqlite3"
    result = _cli("--store", str(store), "--import", str(source))
    assert result.returncode == 2
    message = result.stderr
    assert "record 0" in message and "record 2 " in message and "record 3 " in message
    assert "measured_at" in message and "value" in message and "record 1 " not in message
    assert "3 of 4 record(s) invalid, nothing imported" in message
    with open_store(store) as opened:
        assert opened.count() == 0


@pytest.mark.parametrize(
    "content",
    ["[" * 100_000 + "]" * 100_000, '[{"value": 1' + "0" * 5000 + "}]", "\ufeff[]", "[1, 2"],
)
def test_hostile_import_files_are_one_line_errors_or_harmless(tmp_path: Path, content: str) -> None:
    source = tmp_path / "x.json"
    source.write_text(content, encoding="utf-8")
    result = _cli("--store", str(tmp_path / "s.sqlite3"), "--import", str(source))
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2)
    assert len(result.stderr.strip().splitlines()) == 1


def test_read_records_accepts_what_export_writes(tmp_path: Path) -> None:
    source = tmp_path / "ok.json"
    source.write_text(json.dumps([raw(), raw(probe="capability.gpu", value=0)]))
    assert [r.probe for r in read_records(source)] == ["matmul", "capability.gpu"]


# -- a long history --------------------------------------------------------------------------------
def _fill(path: Path, rows: int, keys: int, machine: str = "m1") -> None:
    """Insert rows as an older advisor would: plain SQL into the records table."""
    with open_store(path):
        pass
    start = NOW - timedelta(days=30)
    db = sqlite3.connect(path)
    batch = []
    for i in range(rows):
        key = i % keys
        record = ProbeRecord.model_validate(
            raw(
                probe=f"p{key}",
                value=1.0 + i,
                params={"n": key},
                measured_at=(start + timedelta(seconds=i)).isoformat(),
                run_id=f"run{i // keys}",
                machine_id=machine,
            )
        )
        batch.append(
            (
                record.run_id,
                record.framework,
                record.probe,
                params_key(record.params),
                "ok",
                machine,
                record.measured_at.isoformat(timespec="microseconds"),
                record.model_dump_json(),
            )
        )
    with db:
        db.executemany(
            "INSERT INTO records (run_id, framework, probe, params_key, status, machine_id,"
            " measured_at, record) VALUES (?,?,?,?,?,?,?,?)",
            batch,
        )
    db.close()


def test_reading_the_newest_figures_does_not_grow_with_history(tmp_path: Path) -> None:
    small, big, wide = tmp_path / "small.sqlite3", tmp_path / "big.sqlite3", tmp_path / "w.sqlite3"
    _fill(small, 48, 48)
    _fill(big, 100_000, 48)
    _fill(wide, 30_000, 30_000)
    timings = {}
    for path in (small, big, wide):
        with open_store(path, create=False) as store:
            began = time.perf_counter()
            latest = store.latest("m1")
            timings[path.name] = time.perf_counter() - began
        if path is not wide:
            assert len(latest) == 48
            newest = max(r.value or 0 for r in latest)
            assert newest == (48.0 if path is small else 100_000.0)
        else:
            assert len(latest) == MAX_LATEST  # capped: the most recently measured keys
            assert min(r.value or 0 for r in latest) == 30_000 - MAX_LATEST + 1
    assert timings["big.sqlite3"] < 0.1, timings
    assert timings["w.sqlite3"] < 0.5, timings


def test_a_future_dated_row_of_an_old_store_does_not_hide_newer_figures(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _fill(path, 3, 1)
    db = sqlite3.connect(path)
    poisoned = raw(probe="p0", params={"n": 0}, value=7.0, run_id="poison")
    with db:  # a store from before the latest table, with a row from year 2999 in it
        db.executescript("DROP TRIGGER records_latest; DROP TABLE latest;")
        db.execute(
            "INSERT INTO records (run_id, framework, probe, params_key, status, machine_id,"
            " measured_at, record) VALUES ('poison','pytorch','p0',?,'ok','m1',?,?)",
            (params_key({"n": 0}), "2999-01-01T00:00:00.000000+00:00", json.dumps(poisoned)),
        )
    db.close()
    with open_store(path, create=False) as store:
        (newest,) = store.latest("m1")
    assert newest.value == 3.0 and newest.run_id == "run2"


def test_rows_an_older_advisor_stored_are_indexed_and_invalid_ones_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    _fill(path, 2, 2)
    db = sqlite3.connect(path)
    zero = raw(probe="p9", params={"n": 9}, value=0.0, run_id="old")  # stored as ok long ago
    with db:
        db.execute(
            "INSERT INTO records (run_id, framework, probe, params_key, status, machine_id,"
            " measured_at, record) VALUES ('old','pytorch','p9',?,'ok','m1',?,?)",
            (params_key({"n": 9}), zero["measured_at"], json.dumps(zero)),
        )
    db.close()
    with open_store(path, create=False) as store:
        latest = store.latest("m1")
        assert sorted(r.probe for r in latest) == ["p0", "p1"]
        assert store.skipped == 1
