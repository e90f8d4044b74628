"""The probe store: every probe record ever taken on this machine, in one SQLite file.

SQLite because it is in the standard library, survives crashes (each record is committed in its
own transaction as it arrives, so Ctrl-C or a killed run loses nothing already stored) and lets
two probe runs write at once (WAL journal plus a busy timeout). The recommend path opens the store
on every run, so this module imports only the standard library and the record model.

Rows keep the whole record as JSON next to the columns needed to query it; the key of a figure is
(framework, probe, params) and `latest()` returns the newest record per key.
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

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

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

    def add(self, records: Iterable[ProbeRecord]) -> int:
        """Store records, each in its own transaction; returns how many were new.

        A record whose (run_id, framework, probe, params) is already stored is skipped, which
        makes importing the same export twice harmless.
        """
        added = 0
        with self._guard("writing to"):
            for record in records:
                with self._db:  # one transaction per record: a crash keeps what came before
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
        return added

    def _select(self, sql: str, args: tuple[Any, ...] = ()) -> list[ProbeRecord]:
        with self._guard("reading"):
            rows = self._db.execute(sql, args).fetchall()
        records = []
        for row_id, text in rows:
            try:
                records.append(ProbeRecord.model_validate_json(text))
            except ValidationError as error:
                raise StoreError(
                    f"{self.path}: record {row_id} is not a valid probe record "
                    f"({error.errors()[0]['msg']}); export what you need and start a new store"
                ) from None
        return records

    def all(self) -> list[ProbeRecord]:
        """Every record, oldest first."""
        return self._select("SELECT id, record FROM records ORDER BY measured_at, id")

    def latest(self, machine_id: str | None = None) -> list[ProbeRecord]:
        """The newest record per (framework, probe, params), for one machine if given.

        Newest wins whatever its status: if the last run of a probe failed, that is the news.
        """
        where, args = ("", ()) if machine_id is None else ("WHERE machine_id = ?", (machine_id,))
        sql = f"""
            SELECT id, record FROM (
                SELECT id, record, framework, probe, params_key, ROW_NUMBER() OVER (
                    PARTITION BY machine_id, framework, probe, params_key
                    ORDER BY measured_at DESC, id DESC) AS newest
                FROM records {where})
            WHERE newest = 1 ORDER BY framework, probe, params_key, id"""
        return self._select(sql, args)

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

    def import_json(self, path: Path) -> int:
        """Add the records of an export; returns how many were new (re-importing adds none)."""
        return self.add(read_records(Path(path)))


def read_records(path: Path) -> list[ProbeRecord]:
    """Records from an export file, all validated before any is stored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise StoreError(f"{path}: cannot read import file ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreError(f"{path}: not a JSON export of probe records ({error})") from None
    if not isinstance(data, list):
        raise StoreError(f"{path}: expected a JSON list of probe records")
    records = []
    for index, item in enumerate(data):
        try:
            records.append(ProbeRecord.model_validate(item))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise StoreError(
                f"{path}: record {index} is not a valid probe record ({where}: {first['msg']})"
            ) from None
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
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{path}: cannot create its folder ({error.strerror})") from None
    elif path.is_dir():
        raise StoreError(f"{path}: is a folder; pass a file path with --store")
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(_explain(path, "opening", error)) from None
    try:
        _prepare(path, connection)
    except StoreError:
        connection.close()
        raise
    except sqlite3.DatabaseError as error:
        connection.close()
        raise StoreError(_explain(path, "opening", error)) from None
    return Store(path, connection)


def _prepare(path: Path, db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: probe store schema version {version} is newer than this advisor supports "
            f"({SCHEMA_VERSION}); upgrade advisor, or pass --store PATH to use another store"
        )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if version == 0 and tables - {"meta", "records"}:
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
