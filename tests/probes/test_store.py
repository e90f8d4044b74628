"""The probe store: round trips, newest-per-key, concurrent writers, crashes, bad files, and the
`probe --show/--export/--import` commands over it (as real subprocesses)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from probes.records import ProbeRecord, ProbeStatus, Spread
from probes.store import (
    SCHEMA_VERSION,
    StoreError,
    default_store_path,
    open_store,
    read_records,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def record(
    probe: str = "matmul",
    framework: str = "pytorch",
    value: float | None = 100.0,
    *,
    minutes: int = 0,
    run_id: str = "run-a",
    machine_id: str = "m1",
    status: ProbeStatus = ProbeStatus.OK,
    params: dict[str, Any] | None = None,
) -> ProbeRecord:
    return ProbeRecord(
        framework=framework,
        probe=probe,
        status=status,
        value=value,
        unit="GFLOP/s",
        params={"n": 512, "device": "cpu", "threads": 2} if params is None else params,
        spread=Spread(iqr=1.0, cv=0.02, repeats=7),
        versions={"torch": "2.13.0"},
        machine={"cpu_model": "Test CPU"},
        machine_id=machine_id,
        measured_at=T0 + timedelta(minutes=minutes),
        run_id=run_id,
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    original = record(params={"n": 512, "nested": {"a": [1, 2]}})
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.add([original]) == 1
    with open_store(tmp_path / "s.sqlite3", create=False) as store:
        assert store.all() == [original]


def test_latest_is_newest_per_framework_probe_params_and_machine(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(
            [
                record(value=90.0, minutes=0, run_id="r1"),
                record(value=95.0, minutes=10, run_id="r2"),
                record(status=ProbeStatus.TIMEOUT, value=None, minutes=20, run_id="r3"),
                record(value=50.0, minutes=30, run_id="r3", params={"n": 1024}),
                record(framework="tensorflow", value=80.0, minutes=5, run_id="r1"),
                record(value=70.0, minutes=40, run_id="r9", machine_id="m2"),
            ]
        )
        latest = store.latest("m1")
        assert sorted((r.framework, r.params.get("n"), r.status, r.value) for r in latest) == [
            ("pytorch", 512, ProbeStatus.TIMEOUT, None),  # the newest run's news, even if bad
            ("pytorch", 1024, ProbeStatus.OK, 50.0),
            ("tensorflow", 512, ProbeStatus.OK, 80.0),
        ]
        assert len(store.latest()) == 4
        assert [r.machine_id for r in store.latest("m2")] == ["m2"]
        assert store.latest("nowhere") == []
        assert store.count() == 6


def test_adding_the_same_record_twice_stores_it_once(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.add([record(), record()]) == 1
        assert store.add([record()]) == 0
        assert store.count() == 1


def test_naive_timestamps_are_taken_as_utc(tmp_path: Path) -> None:
    naive = record().model_copy(update={"measured_at": datetime(2026, 1, 1, 8, 0)})
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add([naive])
        (back,) = store.all()
    assert back.measured_at.replace(tzinfo=None) == datetime(2026, 1, 1, 8, 0)


def test_store_is_wal_with_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    open_store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    db.close()


_WRITER = """
import sys
from datetime import datetime, timezone
from probes.records import ProbeRecord
from probes.store import open_store
path, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_store(path) as store:
    print("ready", flush=True)
    for i in range(count):
        store.add([ProbeRecord(framework="pytorch", probe=f"p{i}", status="ok", value=float(i + 1),
                               measured_at=datetime.now(timezone.utc), run_id=tag,
                               machine_id="m")])
        print(i, flush=True)
"""


def _writer(path: Path, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), tag, str(count)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    writers = [_writer(path, tag, 150) for tag in ("a", "b", "c")]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    with open_store(path) as store:
        rows = store.all()
    assert len(rows) == 450
    assert {(r.run_id, r.probe) for r in rows} == {
        (tag, f"p{i}") for tag in ("a", "b", "c") for i in range(150)
    }
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_killed_writer_keeps_every_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    writer = _writer(path, "k", 100_000)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    committed = -1
    while committed < 40:
        committed = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with open_store(path) as store:
        assert store.count() >= committed + 1
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_random_bytes_are_a_one_line_store_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "probes.sqlite3"
    path.write_bytes(random.Random(0).randbytes(8192))
    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "not a readable probe store" in message
    assert "delete it" in message and "\n" not in message


def test_a_damaged_store_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "probes.sqlite3"
    with open_store(path) as store:
        store.add([record(probe=f"p{i}", run_id=str(i)) for i in range(200)])
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    data[4096:] = random.Random(1).randbytes(len(data) - 4096)  # every page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=str(path)), open_store(path) as store:
        store.all()


def test_a_store_from_a_newer_advisor_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    open_store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this advisor supports") as caught:
        open_store(path)
    assert str(caught.value).startswith(str(path))


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER)")
    db.close()
    with pytest.raises(StoreError, match="not a probe store"):
        open_store(path)


def test_missing_store_is_an_error_only_when_it_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no probe store here"):
        open_store(tmp_path / "none.sqlite3", create=False)
    assert not (tmp_path / "none.sqlite3").exists()
    path = tmp_path / "deep" / "er" / "new.sqlite3"
    with open_store(path) as store:  # folders made, the store's own private to the user
        assert store.path == path and store.count() == 0 and store.all() == []
        assert store.add([record()]) == 1
    assert path.is_file() and (path.parent.stat().st_mode & 0o777) == 0o700
    with open_store(path, create=False) as store:  # now it must exist, and it does
        assert store.all() == [record()] and store.latest("m1") == [record()]


def test_export_import_round_trip_is_idempotent(tmp_path: Path) -> None:
    records = [record(probe=f"p{i}", minutes=i) for i in range(5)]
    with open_store(tmp_path / "a.sqlite3") as source:
        source.add(records)
        assert source.export_json(tmp_path / "export.json") == 5
    exported = json.loads((tmp_path / "export.json").read_text())
    assert isinstance(exported, list) and exported[0]["probe"] == "p0"
    with open_store(tmp_path / "b.sqlite3") as target:
        assert target.import_json(tmp_path / "export.json") == 5
        assert target.import_json(tmp_path / "export.json") == 0
        assert target.all() == records


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a JSON export"),
        ('{"a": 1}', "expected a JSON list"),
        ('[{"framework": "pytorch"}]', "record 0 is not a valid probe record"),
    ],
)
def test_bad_import_files_are_store_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "in.json"
    path.write_text(content)
    with pytest.raises(StoreError, match=message):
        read_records(path)
    with pytest.raises(StoreError, match="cannot read import file"):
        read_records(tmp_path / "absent.json")


def test_default_store_path_follows_env_then_cache_dir() -> None:
    assert default_store_path({"ADVISOR_STORE": "/x/p.sqlite3"}) == Path("/x/p.sqlite3")
    if sys.platform.startswith("linux"):
        assert default_store_path({"XDG_CACHE_HOME": "/c"}) == Path("/c/advisor/probes.sqlite3")
        assert default_store_path({}) == Path.home() / ".cache" / "advisor" / "probes.sqlite3"


def test_store_import_is_light() -> None:
    """The recommend path opens the store on every run: no numpy, no framework."""
    code = (
        "import sys, probes.store; "
        "print(sorted(m for m in ('numpy', 'torch', 'tensorflow', 'mxnet') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# -- the probe command over the store ----------------------------------------------------------------
def _entry_points() -> list[list[str]]:
    """The probe command is reachable both as its own module and through the advisor CLI."""
    return [["-m", "advisor.cli.probe"], ["-m", "advisor", "probe"]]


@pytest.fixture(params=_entry_points(), ids=" ".join)
def probe_cmd(request: pytest.FixtureRequest) -> list[str]:
    return [sys.executable, *request.param]


def cli(command: list[str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_show_json_on_an_empty_store_is_an_empty_list(probe_cmd: list[str], tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    result = cli(probe_cmd, "--show", "--format", "json", "--store", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert not path.exists()  # showing never creates a store
    text = cli(probe_cmd, "--show", "--store", str(path))
    assert text.returncode == 0 and "no probe results" in text.stdout


def test_show_lists_the_newest_records_as_json_and_text(
    probe_cmd: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add(
            [
                record(value=90.0, run_id="r1"),
                record(value=95.0, minutes=5, run_id="r2"),
                record(
                    framework="mxnet",
                    probe="*",
                    status=ProbeStatus.MISSING,
                    value=None,
                    params={},
                    run_id="r2",
                ),
            ]
        )
    result = cli(probe_cmd, "--show", "--format", "json", "--store", str(path))
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [(r["framework"], r["probe"], r["status"], r["value"]) for r in shown] == [
        ("mxnet", "*", "missing", None),
        ("pytorch", "matmul", "ok", 95.0),
    ]
    for key in (
        "framework",
        "probe",
        "status",
        "value",
        "unit",
        "params",
        "spread",
        "machine",
        "measured_at",
    ):
        assert key in shown[1]
    text = cli(probe_cmd, "--show", "--store", str(path))
    assert text.returncode == 0, text.stderr
    assert "95 GFLOP/s" in text.stdout and "CV 2.0%" in text.stdout and "n=512" in text.stdout
    assert "missing" in text.stdout and "2.13.0" in text.stdout


def test_export_then_import_through_the_cli(probe_cmd: list[str], tmp_path: Path) -> None:
    source, target, dump = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3", tmp_path / "x.json"
    with open_store(source) as store:
        store.add([record(probe=f"p{i}") for i in range(3)])
    assert cli(probe_cmd, "--store", str(source), "--export", str(dump)).returncode == 0
    first = cli(probe_cmd, "--store", str(target), "--import", str(dump))
    assert first.returncode == 0 and "imported 3 new record(s)" in first.stderr
    again = cli(probe_cmd, "--store", str(target), "--import", str(dump))
    assert again.returncode == 0 and "imported 0 new record(s)" in again.stderr
    with open_store(target) as store:
        assert store.count() == 3


@pytest.mark.parametrize(
    "args",
    [
        ["--show", "--store", "{corrupt}"],
        ["--store", "{corrupt}", "--export", "{tmp}/x.json"],
        ["--store", "{tmp}/s.sqlite3", "--import", "{tmp}/absent.json"],
        ["--store", "{tmp}/s.sqlite3", "--import", "{garbage}"],
        ["--store", "{tmp}/s.sqlite3", "--python", "mxnet"],
        ["--store", "{tmp}/s.sqlite3", "--python", "caffe=/usr/bin/python3"],
    ],
    ids=[
        "corrupt-show",
        "corrupt-export",
        "absent-import",
        "garbage-import",
        "python-syntax",
        "python-framework",
    ],
)
def test_errors_are_one_line_and_exit_2(
    probe_cmd: list[str], tmp_path: Path, args: list[str]
) -> None:
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(random.Random(2).randbytes(4096))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2")
    filled = [a.format(corrupt=corrupt, tmp=tmp_path, garbage=garbage) for a in args]
    result = cli(probe_cmd, *filled)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("advisor probe: error: ")


def test_import_cost_of_the_probe_cli_module() -> None:
    """The advisor builds every subcommand's parser, so importing probe_cli must stay cheap."""
    code = (
        "import time, sys; t = time.perf_counter(); import advisor.cli.probe; "
        "print(time.perf_counter() - t, 'pydantic' in sys.modules, 'probes.runner' in sys.modules)"
    )
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert time.monotonic() - started < 10
    seconds, pydantic_loaded, runner_loaded = out.stdout.split()
    assert runner_loaded == "False" and pydantic_loaded == "False"
    assert float(seconds) < 0.2


# -- in-process details of the store (what mutation testing checks) -------------------------------
def test_a_folder_is_no_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder; pass a file path with --store") as caught:
        open_store(tmp_path)
    assert str(caught.value).startswith(str(tmp_path))


def test_records_are_added_in_batches_and_counted_once(tmp_path: Path) -> None:
    records = [record(probe=f"p{i}") for i in range(5)]
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.add(records, batch=2) == 5
        assert store.add([*records[:2], record(probe="p9")], batch=0) == 1  # batch < 1: one each
        assert store.add(iter([record(probe="p10")]), batch=10) == 1  # a last, partial batch
        assert store.count() == 7
        assert [r.probe for r in store.all()] == [*(f"p{i}" for i in range(5)), "p9", "p10"]


def test_all_is_oldest_first_and_latest_breaks_ties_by_insertion(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add([record(value=2.0, minutes=5, run_id="b"), record(value=1.0, run_id="a")])
        store.add([record(value=3.0, minutes=5, run_id="c")])  # same moment as b, stored later
        assert [r.run_id for r in store.all()] == ["a", "b", "c"]
        (newest,) = store.latest()
        assert newest.run_id == "c" and newest.value == 3.0
        store.add([record(value=4.0, minutes=1, run_id="d")])  # older: not the newest
        assert [r.run_id for r in store.latest("m1")] == ["c"]


def test_latest_is_ordered_by_framework_probe_and_params(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(
            [
                record(framework="tensorflow", probe="a", minutes=1),
                record(framework="pytorch", probe="b", minutes=2),
                record(framework="pytorch", probe="a", minutes=3, params={"n": 2}),
                record(framework="pytorch", probe="a", minutes=4, params={"n": 1}),
            ]
        )
        assert [(r.framework, r.probe, r.params) for r in store.latest()] == [
            ("pytorch", "a", {"n": 1}),
            ("pytorch", "a", {"n": 2}),
            ("pytorch", "b", {"n": 512, "device": "cpu", "threads": 2}),
            ("tensorflow", "a", {"n": 512, "device": "cpu", "threads": 2}),
        ]


def test_a_row_that_no_longer_validates_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(probe="good"), record(probe="bad", run_id="b")])
    db = sqlite3.connect(path)
    db.execute("UPDATE records SET record = '{\"value\": 0}' WHERE probe = 'bad'")
    db.commit()
    db.close()
    with open_store(path) as store:
        assert [r.probe for r in store.all()] == ["good"] and store.skipped == 1
        assert [r.probe for r in store.latest()] == ["good"] and store.skipped == 1
        store.count()
        assert store.count() == 2
        store.add([record(probe="other", run_id="c")])
        assert len(store.all()) == 2 and store.skipped == 1  # counted afresh on every read


def test_params_keys_are_canonical() -> None:
    from probes.store import params_key

    assert params_key({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert params_key({"a": 1, "b": 2}) == params_key({"b": 2, "a": 1})
    assert params_key({"when": datetime(2026, 1, 1)}) == '{"when":"2026-01-01 00:00:00"}'


def test_times_are_stored_as_fixed_width_utc_text(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    later = record(run_id="x").model_copy(
        update={"measured_at": datetime(2026, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))}
    )
    with open_store(path) as store:
        store.add(
            [later, record(run_id="y").model_copy(update={"measured_at": datetime(2026, 1, 1)})]
        )
    rows = sqlite3.connect(path).execute(
        "SELECT run_id, measured_at, status, machine_id, params_key FROM records ORDER BY run_id"
    )
    assert rows.fetchall() == [
        (
            "x",
            "2026-01-01T07:30:00.000000+00:00",
            "ok",
            "m1",
            '{"device":"cpu","n":512,"threads":2}',
        ),
        (
            "y",
            "2026-01-01T00:00:00.000000+00:00",
            "ok",
            "m1",
            '{"device":"cpu","n":512,"threads":2}',
        ),
    ]


def test_a_new_store_records_its_schema_and_creation(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    before = datetime.now(timezone.utc)
    open_store(path).close()
    open_store(path).close()  # opening again changes nothing
    db = sqlite3.connect(path)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert set(meta) == {"schema_version", "created_at"}
    created = datetime.fromisoformat(meta["created_at"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(timezone.utc)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta", "records", "latest"}
    triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert triggers == {"records_latest"}
    db.close()


def test_the_store_waits_for_a_busy_writer(tmp_path: Path) -> None:
    from probes.store import BUSY_TIMEOUT_MS

    with open_store(tmp_path / "s.sqlite3") as store:
        assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS == 30_000


def test_store_errors_explain_a_lock_damage_or_anything_else() -> None:
    from probes.store import _explain

    where = Path("/x/s.sqlite3")
    locked = _explain(where, "writing to", sqlite3.OperationalError("database is locked"))
    assert locked == (
        "/x/s.sqlite3: the probe store stayed locked by another process for 30 s; "
        "try again when the other probe run ends"
    )
    for message in ("file is not a database", "database disk image is malformed", "corrupt"):
        damaged = _explain(where, "reading", sqlite3.DatabaseError(message))
        assert damaged.startswith(f"/x/s.sqlite3: not a readable probe store ({message}); ")
        assert damaged.endswith("or pass --store PATH")
    other = _explain(where, "reading", sqlite3.OperationalError("disk I/O error"))
    assert other == "/x/s.sqlite3: error reading the probe store (disk I/O error)"
    not_locked = _explain(where, "writing to", sqlite3.DatabaseError("locked"))
    assert not_locked == "/x/s.sqlite3: error writing to the probe store (locked)"


def test_an_old_store_without_the_latest_table_gets_it_filled(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a"), record(value=2.0, minutes=5, run_id="b")])
        store.add([record(framework="tensorflow", value=3.0, run_id="a")])
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER records_latest; DROP TABLE latest;")
    db.close()
    with open_store(path) as store:
        assert [(r.framework, r.run_id) for r in store.latest()] == [
            ("pytorch", "b"),
            ("tensorflow", "a"),
        ]
        store.add([record(value=4.0, minutes=9, run_id="c")])  # the trigger is back
        assert [r.run_id for r in store.latest()] == ["c", "a"]


def test_the_default_store_path_reads_the_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ADVISOR_STORE", str(tmp_path / "mine.sqlite3"))
    assert default_store_path() == tmp_path / "mine.sqlite3"


def test_a_store_without_its_latest_index_reads_the_newest_per_key_all_the_same(
    tmp_path: Path,
) -> None:
    """A store this process may not write to, made before the latest table, is read without it."""
    from probes.store import Store

    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add(
            [
                record(framework="tensorflow", value=1.0, run_id="a"),
                record(value=2.0, run_id="a", params={"n": 2}),
                record(value=3.0, minutes=5, run_id="b", params={"n": 2}),
                record(value=4.0, minutes=1, run_id="a", params={"n": 1}),
                record(value=5.0, minutes=9, run_id="c", machine_id="m2"),
            ]
        )
    plain = Store(path, sqlite3.connect(path), indexed=False)
    try:
        assert [(r.framework, r.params, r.value) for r in plain.latest("m1")] == [
            ("pytorch", {"n": 1}, 4.0),
            ("pytorch", {"n": 2}, 3.0),
            ("tensorflow", {"n": 512, "device": "cpu", "threads": 2}, 1.0),
        ]
        assert [r.value for r in plain.latest()] == [5.0, 4.0, 3.0, 1.0]
        assert [r.value for r in plain.latest("m2")] == [5.0]
    finally:
        plain.close()


def test_an_export_is_an_indented_utf8_json_list_ending_in_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add([record(params={"n": 1, "note": "größe ✓"})])
        assert store.export_json(path) == 1
    text = path.read_bytes().decode("utf-8")
    assert text.startswith('[\n {\n  "record_version": 1,\n') and text.endswith("}\n]\n")
    assert json.loads(text)[0]["params"]["note"] == "größe ✓"


def test_an_export_that_cannot_be_written_is_a_store_error(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite3") as store, pytest.raises(StoreError) as caught:
        store.export_json(tmp_path / "no" / "such" / "out.json")
    assert str(caught.value) == (
        f"{tmp_path / 'no' / 'such' / 'out.json'}: cannot write export (No such file or directory)"
    )


def test_an_import_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps([json.loads(record().model_dump_json())]).encode()
    )
    assert read_records(path) == [record()]


def test_an_import_file_is_at_most_the_size_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("probes.store.MAX_IMPORT_BYTES", 3 << 20)
    path = tmp_path / "in.json"
    path.write_text("[" + " " * ((3 << 20) - 2) + "]")
    assert read_records(path) == []  # exactly the limit
    path.write_text("[" + " " * ((3 << 20) - 1) + "]")
    with pytest.raises(StoreError) as caught:
        read_records(path)
    assert str(caught.value) == f"{path}: 3,145,729 bytes; an import file is at most 3 MiB"


def test_a_deeply_nested_import_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StoreError) as caught:
        read_records(path)
    assert str(caught.value) == f"{path}: not a JSON export of probe records (nested too deeply)"


def test_an_unreadable_import_file_names_the_reason(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        read_records(tmp_path)  # a folder
    assert str(caught.value).startswith(f"{tmp_path}: cannot read import file (")
    assert "Is a directory" in str(caught.value)


def test_more_records_than_an_import_takes_need_force(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("probes.store.MAX_IMPORT_RECORDS", 3)
    path = tmp_path / "in.json"
    rows = [json.loads(record(probe=f"p{i}").model_dump_json()) for i in range(4)]
    path.write_text(json.dumps(rows[:3]))
    assert len(read_records(path)) == 3  # exactly the limit
    path.write_text(json.dumps(rows))
    with pytest.raises(StoreError) as caught:
        read_records(path)
    assert str(caught.value) == (
        f"{path}: 4 records, more than the 3 an import takes without --force "
        "(a run of every probe makes about 50)"
    )
    assert len(read_records(path, force=True)) == 4
    with open_store(tmp_path / "s.sqlite3") as store:
        with pytest.raises(StoreError, match="without --force"):
            store.import_json(path)
        assert store.import_json(path, force=True) == 4


def test_an_import_lists_its_first_problems_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("probes.store.MAX_LISTED_PROBLEMS", 2)
    path = tmp_path / "in.json"
    good = json.loads(record().model_dump_json())
    path.write_text(json.dumps([good, {**good, "status": "great"}, 7, {**good, "value": -1.0}]))
    with pytest.raises(StoreError) as caught:
        read_records(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: record 1 is not a valid probe record (status: ")
    assert "; record 2 is not a valid probe record (" in message
    assert "record 3" not in message  # only the first two problems are listed...
    assert message.endswith("; 3 of 4 record(s) invalid, nothing imported")  # ...all are counted


def test_show_prints_an_untestable_capability_as_unknown_not_as_absent() -> None:
    from datetime import datetime, timezone

    from advisor.cli.probe import format_value

    def capability(value: float, **details: object) -> ProbeRecord:
        return ProbeRecord(
            framework="pytorch", probe="capability.onnx_export", status=ProbeStatus.OK,
            value=value, unit="bool", details=dict(details), measured_at=datetime.now(timezone.utc),
        )  # fmt: skip

    assert format_value(capability(0.0, unknown=True, detail="onnx not installed")) == "unknown"
    assert format_value(capability(0.0)) == "0 bool"
    assert format_value(capability(1.0)) == "1 bool"


# -- what the mutation run of probes/store.py asked for ------------------------------------------
def _read_only(path: Path) -> sqlite3.Connection:
    """A real read-only connection: what a store another user owns gives this process."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _drop_latest_index(path: Path) -> None:
    """Make the store look like one written before the latest table existed."""
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER records_latest; DROP TABLE latest;")
    db.close()


@pytest.fixture
def local_zone_tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with a local time zone 9 hours from UTC, so local and UTC times cannot be confused."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    assert time.localtime(0).tm_hour == 9
    yield
    monkeypatch.undo()
    time.tzset()


def test_stored_times_are_utc_whatever_the_local_zone(
    tmp_path: Path, local_zone_tokyo: None
) -> None:
    """Text order is time order only if every row is written in UTC; naive times mean UTC."""
    path = tmp_path / "s.sqlite3"
    naive = record(run_id="naive").model_copy(update={"measured_at": datetime(2026, 1, 1, 8, 0)})
    aware = record(run_id="aware").model_copy(
        update={"measured_at": datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=-5)))}
    )
    before = datetime.now(timezone.utc)
    with open_store(path) as store:
        store.add([naive, aware])
    db = sqlite3.connect(path)
    assert db.execute("SELECT run_id, measured_at FROM records ORDER BY run_id").fetchall() == [
        ("aware", "2026-01-01T13:00:00.000000+00:00"),
        ("naive", "2026-01-01T08:00:00.000000+00:00"),
    ]
    (created,) = db.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()
    db.close()
    assert created.endswith("+00:00")
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(created)
    assert datetime.fromisoformat(created) <= datetime.now(timezone.utc)


def test_a_new_store_has_skipped_nothing(tmp_path: Path) -> None:
    """`skipped` reports the last read; before any read there is nothing to report."""
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.skipped == 0


def test_every_invalid_row_of_a_read_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(probe=name, run_id=name) for name in ("good", "bad1", "bad2", "bad3")])
    db = sqlite3.connect(path)
    db.execute("UPDATE records SET record = '{\"value\": 0}' WHERE probe LIKE 'bad%'")
    db.commit()
    db.close()
    with open_store(path) as store:
        assert [r.probe for r in store.all()] == ["good"] and store.skipped == 3


def test_records_before_a_crash_in_their_source_are_kept(tmp_path: Path) -> None:
    """By default each record is its own transaction: a probe run that dies after its first
    figure has stored that figure."""

    def run_that_dies() -> Iterator[ProbeRecord]:
        yield record(probe="first")
        raise RuntimeError("worker died")

    with open_store(tmp_path / "s.sqlite3") as store:
        with pytest.raises(RuntimeError, match="worker died"):
            store.add(run_that_dies())
        assert [r.probe for r in store.all()] == ["first"]


def test_an_import_commits_in_batches(tmp_path: Path) -> None:
    """A large import is a few transactions of IMPORT_BATCH, not one per record."""
    from probes.store import IMPORT_BATCH

    count = 2 * IMPORT_BATCH + 1
    rows = [json.loads(record(probe=f"p{i}").model_dump_json()) for i in range(count)]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(rows))
    with open_store(tmp_path / "s.sqlite3") as store:
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        assert store.import_json(path) == count
        store._db.set_trace_callback(None)
        transactions = [s for s in statements if s.startswith(("BEGIN", "COMMIT"))]
        assert transactions == ["BEGIN ", "COMMIT"] * 3  # 500, 500 and 1
        assert store.count() == count


def test_a_record_dated_ahead_of_the_clock_never_hides_the_newest(tmp_path: Path) -> None:
    """A record two hours ahead (stored by an older advisor that did not refuse it) does not
    become the newest of its key: the figure measured now is shown."""
    now = datetime.now(timezone.utc)
    ahead = record(run_id="ahead", value=1.0).model_copy(
        update={"measured_at": now + timedelta(hours=2)}
    )
    current = record(run_id="now", value=2.0).model_copy(update={"measured_at": now})
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add([ahead, current])
        assert [(r.run_id, r.value) for r in store.latest()] == [("now", 2.0)]
        assert store.skipped == 0


def test_a_read_only_store_with_its_index_opens_without_writing(tmp_path: Path) -> None:
    """A store another user owns is read through its latest index; opening it tries no write
    (one would fail on a read-only connection)."""
    from probes.store import Store, _prepare

    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a"), record(value=2.0, minutes=5, run_id="b")])
    db = _read_only(path)
    assert _prepare(path, db) is True
    with Store(path, db, indexed=True) as store:
        assert [r.run_id for r in store.latest()] == ["b"]


def test_a_read_only_store_without_its_index_is_read_without_it(tmp_path: Path) -> None:
    """The latest table cannot be made in a store this process may not write to: it is read
    from the records alone, and writing to it is a one-line error."""
    from probes.store import Store, _prepare

    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a"), record(value=2.0, minutes=5, run_id="b")])
    _drop_latest_index(path)
    db = _read_only(path)
    assert _prepare(path, db) is False
    with Store(path, db, indexed=False) as store:
        assert [r.run_id for r in store.latest()] == ["b"]
        with pytest.raises(StoreError) as caught:
            store.add([record(run_id="c")])
    assert str(caught.value) == (
        f"{path}: error writing to the probe store (attempt to write a readonly database)"
    )
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "latest" not in tables


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root writes to any file: none is read-only to it",
)
def test_a_store_file_this_user_may_not_write_opens_for_reading(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a"), record(value=2.0, minutes=5, run_id="b")])
    _drop_latest_index(path)
    path.chmod(0o444)
    try:
        with open_store(path, create=False) as store:
            assert [r.run_id for r in store.latest()] == ["b"]
    finally:
        path.chmod(0o644)


def test_open_store_on_a_read_only_connection_reads_without_the_missing_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the test above checks where files can be read-only (not as root): open_store gets a
    read-only connection to a store without its latest table, and reads the records alone."""
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a"), record(value=2.0, minutes=5, run_id="b")])
    _drop_latest_index(path)
    connect = sqlite3.connect
    monkeypatch.setattr(
        sqlite3, "connect", lambda p, **kw: connect(f"file:{p}?mode=ro", uri=True, **kw)
    )
    with open_store(path, create=False) as store:
        assert [r.run_id for r in store.latest()] == ["b"]


def test_a_store_that_lost_only_its_trigger_gets_it_back(tmp_path: Path) -> None:
    """Without the trigger the latest table would go stale: later records would not show."""
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record(value=1.0, run_id="a")])
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER records_latest")
    db.close()
    with open_store(path) as store:
        store.add([record(value=2.0, minutes=5, run_id="b")])
        assert [r.run_id for r in store.latest()] == ["b"]


def test_a_store_from_before_schema_versions_is_taken_up(tmp_path: Path) -> None:
    """A file at user_version 0 that holds only the store's own tables is a store, not another
    program's file: it is brought up to the current schema."""
    from probes.store import _LATEST, _SCHEMA

    path = tmp_path / "s.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA + _LATEST)
    db.close()
    with open_store(path) as store:
        assert store.add([record()]) == 1 and store.latest() == [record()]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_another_programs_file_is_refused_naming_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE invoices (id INTEGER); CREATE TABLE customers (id INTEGER);")
    db.close()
    with pytest.raises(StoreError) as caught:
        open_store(path)
    assert str(caught.value) == (
        f"{path}: an SQLite file, but not a probe store (tables: customers, invoices);"
        " pass --store PATH to use another file"
    )


def test_a_store_that_cannot_be_opened_or_prepared_says_so(tmp_path: Path) -> None:
    """Errors while opening name the file and SQLite's reason, in one line."""
    link = tmp_path / "link.sqlite3"
    link.symlink_to(tmp_path / "nowhere" / "s.sqlite3")  # a dangling link: no file can be made
    with pytest.raises(StoreError) as caught:
        open_store(link)
    assert str(caught.value) == (
        f"{link}: error opening the probe store (unable to open database file)"
    )
    half = tmp_path / "half.sqlite3"  # unversioned, with a `records` table of other columns
    db = sqlite3.connect(half)
    db.execute("CREATE TABLE records (id INTEGER)")
    db.close()
    with pytest.raises(StoreError) as caught:
        open_store(half)
    assert str(caught.value) == (
        f"{half}: error opening the probe store (no such column: machine_id)"
    )


def test_a_store_whose_folder_cannot_be_made_says_why(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "a-file" / "s.sqlite3"
    with pytest.raises(StoreError) as caught:
        open_store(path)
    assert str(caught.value) == f"{path}: cannot create its folder (File exists)"


def test_a_store_locked_while_it_is_prepared_is_a_lock_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Making the latest index waits for another writer; when the wait runs out that is said,
    and the store is not silently opened without its index."""
    monkeypatch.setattr("probes.store.BUSY_TIMEOUT_MS", 1_000)
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record()])
    _drop_latest_index(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as caught:
            open_store(path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert str(caught.value) == (
        f"{path}: the probe store stayed locked by another process for 1 s; "
        "try again when the other probe run ends"
    )


def test_a_store_whose_records_went_missing_is_a_store_error(tmp_path: Path) -> None:
    """Another program dropped the table under an open store: each use says so in one line."""
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add([record()])
        other = sqlite3.connect(path)
        other.execute("DROP TABLE records")
        other.close()
        for read in (store.count, store.all, store.latest):
            with pytest.raises(StoreError) as caught:
                read()
            assert str(caught.value) == (
                f"{path}: error reading the probe store (no such table: records)"
            )
        with pytest.raises(StoreError) as caught:
            store.add([record(run_id="b")])
        assert str(caught.value) == (
            f"{path}: error writing to the probe store (no such table: records)"
        )


def test_an_import_file_that_is_a_folder_names_the_reason_alone(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        read_records(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read import file (Is a directory)"


def test_an_import_problem_names_the_field_path_or_the_record_alone(tmp_path: Path) -> None:
    """A nested field is written as a dotted path; a problem with the whole record has none."""
    path = tmp_path / "in.json"
    good = json.loads(record().model_dump_json())
    path.write_text(json.dumps([{**good, "spread": {"iqr": -1.0}}, "not a record"]))
    with pytest.raises(StoreError) as caught:
        read_records(path)
    assert str(caught.value) == (
        f"{path}: record 0 is not a valid probe record (spread.iqr: Input should be greater than"
        " or equal to 0); record 1 is not a valid probe record (Input should be a valid"
        " dictionary or instance of ProbeRecord); 2 of 2 record(s) invalid, nothing imported"
    )
