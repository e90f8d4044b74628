"""The probe store: every probe record ever taken on this machine, in one SQLite file.

SQLite because it is in the standard library, survives crashes (each record is committed in its
own transaction as it arrives, so Ctrl-C or a killed run loses nothing already stored) and lets
two probe runs write at once (WAL journal plus a busy timeout). The recommend path opens the store
on every run, so this module imports only the standard library and the record model.

Rows keep the whole record as JSON next to the columns needed to query it; the key of a figure is
(framework, probe, params) and `latest()` returns the newest record per key. A `latest` table,
kept by a trigger on every insert (whichever advisor version inserts), holds the newest row per
key, so reading the newest figures costs the same however long the history grows; at most
MAX_LATEST keys are read, newest first.

Imports are validated whole before anything is stored (each record against the limits of
`probes.records`, every problem listed with its record and field), are at most MAX_IMPORT_BYTES,
and more than MAX_IMPORT_RECORDS records need `force` (`advisor probe --import FILE --force`).
A stored row that no longer passes validation (written by an older advisor) is skipped.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from probes.paths import cache_dir
from probes.records import ProbeRecord

SCHEMA_VERSION = 1
STORE_ENV = "ADVISOR_STORE"
STORE_NAME = "probes.sqlite3"
BUSY_TIMEOUT_MS = 30_000
MAX_LATEST = 2_000
"""keys `latest()` returns at most (a quick run of all frameworks makes ~50)"""
MAX_IMPORT_RECORDS = 10_000
MAX_IMPORT_BYTES = 256 * 1024 * 1024
IMPORT_BATCH = 500
MAX_LISTED_PROBLEMS = 10

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    framework TEXT NOT NULL,
    probe TEXT NOT NULL,
    params_key TEXT NOT NULL,
    status TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    measured_at TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (run_id, framework, probe, params_key)
);
CREATE INDEX IF NOT EXISTS records_by_key
    ON records (machine_id, framework, probe, params_key, measured_at);
"""

# The newest row per key, kept by the database itself: an older advisor's inserts update it too.
# A row dated more than an hour ahead of the clock never becomes the newest (it would hide every
# later figure); the advisor refuses such records anyway.
_LATEST = """
CREATE TABLE IF NOT EXISTS latest (
    machine_id TEXT NOT NULL,
    framework TEXT NOT NULL,
    probe TEXT NOT NULL,
    params_key TEXT NOT NULL,
    measured_at TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    PRIMARY KEY (machine_id, framework, probe, params_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS latest_by_time ON latest (machine_id, measured_at);
CREATE TRIGGER IF NOT EXISTS records_latest AFTER INSERT ON records
WHEN NEW.measured_at <= strftime('%Y-%m-%dT%H:%M:%S', 'now', '+1 hour')
BEGIN
    INSERT INTO latest (machine_id, framework, probe, params_key, measured_at, record_id)
    VALUES (NEW.machine_id, NEW.framework, NEW.probe, NEW.params_key, NEW.measured_at, NEW.id)
    ON CONFLICT (machine_id, framework, probe, params_key) DO UPDATE SET
        measured_at = excluded.measured_at, record_id = excluded.record_id
    WHERE excluded.measured_at > latest.measured_at
        OR (excluded.measured_at = latest.measured_at AND excluded.record_id > latest.record_id);
END;
"""
_FILL_LATEST = """
INSERT OR REPLACE INTO latest (machine_id, framework, probe, params_key, measured_at, record_id)
SELECT machine_id, framework, probe, params_key, measured_at, id FROM (
    SELECT id, machine_id, framework, probe, params_key, measured_at, ROW_NUMBER() OVER (
        PARTITION BY machine_id, framework, probe, params_key
        ORDER BY measured_at DESC, id DESC) AS newest
    FROM records WHERE measured_at <= strftime('%Y-%m-%dT%H:%M:%S', 'now', '+1 hour'))
WHERE newest = 1
"""


class StoreError(RuntimeError):
    """The store cannot be used; the message is one line naming the file and what to do."""


def default_store_path(environ: Mapping[str, str] | None = None) -> Path:
    """$ADVISOR_STORE, else the advisor's folder in the user's cache."""
    env = os.environ if environ is None else environ
    if env.get(STORE_ENV):
        return Path(env[STORE_ENV]).expanduser()
    return cache_dir(env) / STORE_NAME


def params_key(params: Mapping[str, Any]) -> str:
    """Canonical JSON of a probe's parameters: equal parameters, equal keys."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def _utc_text(moment: datetime) -> str:
    """ISO text in UTC with a fixed width, so that text order is time order in SQL."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class Store:
    """An open probe store; use `open_store` to get one."""

    def __init__(self, path: Path, connection: sqlite3.Connection, indexed: bool = True) -> None:
        self.path = path
        self._db = connection
        self._indexed = indexed
        self.skipped = 0
        """stored rows that did not pass validation on the last read (and were left out)"""

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as error:
            raise StoreError(_explain(self.path, doing, error)) from None

    def add(self, records: Iterable[ProbeRecord], batch: int = 1) -> int:
        """Store records, `batch` per transaction (default each in its own, so a crash keeps
        what came before); returns how many were new.

        A record whose (run_id, framework, probe, params) is already stored is skipped, which
        makes importing the same export twice harmless.
        """
        added = 0
        pending: list[ProbeRecord] = []

        def flush() -> None:
            nonlocal added
            with self._db:
                for record in pending:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO records (run_id, framework, probe, params_key,"
                        " status, machine_id, measured_at, record) VALUES (?,?,?,?,?,?,?,?)",
                        (
                            record.run_id,
                            record.framework,
                            record.probe,
                            params_key(record.params),
                            record.status.value,
                            record.machine_id,
                            _utc_text(record.measured_at),
                            record.model_dump_json(),
                        ),
                    )
                    added += cursor.rowcount
            pending.clear()

        with self._guard("writing to"):
            for record in records:
                pending.append(record)
                if len(pending) >= max(1, batch):
                    flush()
            if pending:
                flush()
        return added

    def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[ProbeRecord]:
        with self._guard("reading"):
            rows = self._db.execute(sql, args).fetchall()
        records = []
        self.skipped = 0
        for _row_id, text in rows:
            try:
                records.append(ProbeRecord.model_validate_json(text))
            except (ValidationError, ValueError, RecursionError):
                self.skipped += 1  # e.g. a figure of 0 an older advisor stored as ok
        return records

    def all(self) -> list[ProbeRecord]:
        """Every record, oldest first."""
        return self._select("SELECT id, record FROM records ORDER BY measured_at, id")

    def latest(self, machine_id: str | None = None) -> list[ProbeRecord]:
        """The newest record per (framework, probe, params), for one machine if given; at most
        MAX_LATEST keys, the most recently measured ones.

        Newest wins whatever its status: if the last run of a probe failed, that is the news.
        """
        where, args = ("", ()) if machine_id is None else ("WHERE machine_id = ?", (machine_id,))
        if self._indexed:
            sql = f"""
                SELECT id, record FROM (
                    SELECT r.id AS id, r.record AS record, l.framework AS framework,
                        l.probe AS probe, l.params_key AS params_key
                    FROM (SELECT * FROM latest {where} ORDER BY measured_at DESC LIMIT ?) AS l
                    JOIN records AS r ON r.id = l.record_id)
                ORDER BY framework, probe, params_key, id"""
        else:  # a store this process may not write to, made before the latest table existed
            sql = f"""
                SELECT id, record FROM (
                    SELECT id, record, framework, probe, params_key, measured_at, ROW_NUMBER()
                        OVER (PARTITION BY machine_id, framework, probe, params_key
                        ORDER BY measured_at DESC, id DESC) AS newest
                    FROM records {where})
                WHERE newest = 1 ORDER BY measured_at DESC LIMIT ?"""
        records = self._select(sql, (*args, MAX_LATEST))
        if not self._indexed:
            records.sort(key=lambda r: (r.framework, r.probe, params_key(r.params)))
        return records

    def count(self) -> int:
        with self._guard("reading"):
            (total,) = self._db.execute("SELECT COUNT(*) FROM records").fetchone()
        return int(total)

    def export_json(self, path: Path) -> int:
        """Write every record to `path` as a JSON list; returns how many."""
        records = self.all()
        payload = [json.loads(record.model_dump_json()) for record in records]
        try:
            Path(path).write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        except OSError as error:
            raise StoreError(f"{path}: cannot write export ({error.strerror or error})") from None
        return len(records)

    def import_json(self, path: Path, force: bool = False) -> int:
        """Add the records of an export; returns how many were new (re-importing adds none)."""
        return self.add(read_records(Path(path), force=force), batch=IMPORT_BATCH)


def read_records(path: Path, force: bool = False) -> list[ProbeRecord]:
    """Records from an export file, all validated before any is stored.

    Every invalid record is named with its field (the first MAX_LISTED_PROBLEMS, then a count);
    more than MAX_IMPORT_RECORDS records need `force`.
    """
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise StoreError(
                f"{path}: {size:,} bytes; an import file is at most {MAX_IMPORT_BYTES >> 20} MiB"
            )
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as error:
        raise StoreError(f"{path}: cannot read import file ({error.strerror or error})") from None
    except RecursionError:
        raise StoreError(
            f"{path}: not a JSON export of probe records (nested too deeply)"
        ) from None
    except (UnicodeDecodeError, ValueError) as error:  # json.JSONDecodeError, huge integers
        raise StoreError(f"{path}: not a JSON export of probe records ({error})") from None
    if not isinstance(data, list):
        raise StoreError(f"{path}: expected a JSON list of probe records")
    if len(data) > MAX_IMPORT_RECORDS and not force:
        raise StoreError(
            f"{path}: {len(data):,} records, more than the {MAX_IMPORT_RECORDS:,} an import takes "
            "without --force (a run of every probe makes about 50)"
        )
    records = []
    problems: list[str] = []
    bad = 0
    for index, item in enumerate(data):
        try:
            records.append(ProbeRecord.model_validate(item))
        except ValidationError as error:
            bad += 1
            for detail in error.errors():
                if len(problems) < MAX_LISTED_PROBLEMS:
                    where = ".".join(str(part) for part in detail["loc"])
                    field = f" ({where}: " if where else " ("
                    problems.append(
                        f"record {index} is not a valid probe record{field}{detail['msg'][:300]})"
                    )
        except (RecursionError, ValueError, TypeError) as error:
            bad += 1
            if len(problems) < MAX_LISTED_PROBLEMS:
                problems.append(
                    f"record {index} is not a valid probe record ({type(error).__name__})"
                )
    if problems:
        raise StoreError(
            f"{path}: " + "; ".join(problems) + f"; {bad} of {len(data)} record(s) invalid, "
            "nothing imported"
        )
    return records


def _explain(path: Path, doing: str, error: sqlite3.Error) -> str:
    message = str(error)
    if isinstance(error, sqlite3.OperationalError) and "locked" in message:
        return (
            f"{path}: the probe store stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS // 1000} s; try again when the other probe run ends"
        )
    if "not a database" in message or "malformed" in message or "corrupt" in message:
        return (
            f"{path}: not a readable probe store ({message}); move it aside or delete it "
            "(probe results are re-measured by `advisor probe`), or pass --store PATH"
        )
    return f"{path}: error {doing} the probe store ({message})"


def open_store(path: Path, create: bool = True) -> Store:
    """Open (and if needed create) the store at `path`, checking its schema version.

    Raises StoreError for a file that is not an SQLite database, a store written by a newer
    advisor, or one that cannot be created; with create=False a missing file is an error too.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no probe store here; run `advisor probe` to make one")
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{path}: cannot create its folder ({error.strerror})") from None
    elif path.is_dir():
        raise StoreError(f"{path}: is a folder; pass a file path with --store")
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(_explain(path, "opening", error)) from None
    try:
        indexed = _prepare(path, connection)
    except StoreError:
        connection.close()
        raise
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(_explain(path, "opening", error)) from None
    return Store(path, connection, indexed)


def _prepare(path: Path, db: sqlite3.Connection) -> bool:
    """Check and if needed create or update the schema; False: the latest-row index is
    missing and cannot be made (a read-only store)."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: probe store schema version {version} is newer than this advisor supports "
            f"({SCHEMA_VERSION}); upgrade advisor, or pass --store PATH to use another store"
        )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version == 0 and tables - {"meta", "records", "latest"}:
        raise StoreError(
            f"{path}: an SQLite file, but not a probe store (tables: {', '.join(sorted(tables))});"
            " pass --store PATH to use another file"
        )
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")  # lets a reader and a writer work at once
    if version < SCHEMA_VERSION:
        with db:
            db.executescript("BEGIN IMMEDIATE;" + _SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)",
                (_utc_text(datetime.now(timezone.utc)),),
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    if "latest" not in tables or "records_latest" not in triggers:
        try:
            with db:
                db.executescript("BEGIN IMMEDIATE;" + _LATEST + _FILL_LATEST + ";")
        except sqlite3.OperationalError as error:
            if "readonly" in str(error) or "read-only" in str(error):
                return False  # read as before, without the index
            raise
    return True
