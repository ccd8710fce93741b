"""Central's record store (SQLite, WAL): records by (station, record id), sequences, gaps, feedback.

`CentralStore` is the embedded default; `central.pg_store.PostgresStore` keeps the same
interface (`Store`) on PostgreSQL. Both keep a few values derived from each record
(`derive`: capture time, technologist, protocol or body part, CTDIvol, DLP) in columns of
their own, so statistics need not parse the bodies.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from qcedge.qc_client.outbox import pack_attachments

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records(
    station          TEXT NOT NULL,
    record_id        TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    received_at      REAL NOT NULL,
    site             TEXT,
    template         TEXT,
    template_version TEXT,
    modality         TEXT,
    status           TEXT,
    captured_at      TEXT,
    body             TEXT NOT NULL,
    attachments      BLOB,
    PRIMARY KEY(station, record_id)
);
CREATE INDEX IF NOT EXISTS records_seq ON records(station, seq);
CREATE TABLE IF NOT EXISTS stations(
    station     TEXT PRIMARY KEY,
    max_seq     INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    first_seen  REAL,
    last_seen   REAL
);
CREATE TABLE IF NOT EXISTS gap_events(
    station     TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    detected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback(
    id          INTEGER PRIMARY KEY,
    station     TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    seq         INTEGER,
    rule        TEXT,
    layer       TEXT,
    level       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_record ON feedback(station, record_id);
CREATE TABLE IF NOT EXISTS seq_aliases(
    station     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    record_id   TEXT NOT NULL,
    PRIMARY KEY(station, seq)
);
"""

SCHEMA_VERSION = 3  # PRAGMA user_version of a store this code made or migrated

# version 2: values derived from each record (statistics), feedback placed in time, site and modality
_DERIVED_COLUMNS = (("records", "captured_ts", "REAL"), ("records", "technologist", "TEXT"),
                    ("records", "protocol", "TEXT"), ("records", "ctdivol", "REAL"), ("records", "dlp", "REAL"),
                    ("feedback", "site", "TEXT"), ("feedback", "modality", "TEXT"), ("feedback", "template", "TEXT"),
                    ("feedback", "captured_ts", "REAL"))
_DERIVED_INDEXES = """
CREATE INDEX IF NOT EXISTS records_time ON records(captured_ts);
CREATE INDEX IF NOT EXISTS records_site_time ON records(site, captured_ts);
CREATE INDEX IF NOT EXISTS feedback_time ON feedback(captured_ts);
CREATE TABLE IF NOT EXISTS corrections(
    id          INTEGER PRIMARY KEY,
    station     TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT NOT NULL,
    reviewer    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_record ON corrections(station, record_id);
CREATE TABLE IF NOT EXISTS rectifications(
    id          INTEGER PRIMARY KEY,
    scope       TEXT NOT NULL,
    target      TEXT NOT NULL,
    problem     TEXT NOT NULL,
    plan        TEXT NOT NULL,
    due         TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    opened_at   REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    closed_by   TEXT,
    closed_at   REAL,
    outcome     TEXT
);
"""  # version 3: review (corrections keep the original) and rectification items


# Acknowledgements of feedback by a station's technologist (feedback_ack). An additive table, made
# on open by any version: a store that has it stays readable by a qcedge that does not know it.
_ACKS = """
CREATE TABLE IF NOT EXISTS feedback_acks(
    id              INTEGER PRIMARY KEY,
    station         TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    rule            TEXT,
    level           TEXT,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    received_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_acks_record ON feedback_acks(station, record_id)
"""


class SchemaError(RuntimeError):
    """A store whose schema this qcedge cannot use (made by a newer qcedge, or not a qcedge store)."""


TECHNOLOGIST_FIELDS = ("technologist", "operator", "radiographer")
PROTOCOL_FIELDS = ("protocol", "body_part", "bodypart", "exam", "scan_protocol")


@dataclass(frozen=True)
class Derived:
    """Values taken from a record for statistics (None when the record has no valid one)."""

    captured_ts: float | None
    technologist: str | None
    protocol: str | None
    ctdivol: float | None  # mGy: the field `ctdivol`, else the highest valid `ctdivol` of a table's rows
    dlp: float | None      # mGy·cm: `total_dlp`, else `dlp`, else the sum of a table's valid `dlp` column


def _field(fields: dict, name: str):
    if name in fields:
        return fields[name]
    low = name.lower()
    return next((v for k, v in fields.items() if k.lower() == low), None)


def _num(fv) -> float | None:
    if fv is None or not fv.valid or isinstance(fv.value, bool):
        return None
    value = fv.value
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def _text(fields: dict, names: Sequence[str]) -> str | None:
    for name in names:
        fv = _field(fields, name)
        if fv is not None and fv.valid and isinstance(fv.value, str) and fv.value.strip():
            return clean_text(fv.value.strip()[:200])
    return None


def _column(fields: dict, column: str) -> list[float | None]:
    out: list[float | None] = []
    for fv in fields.values():
        for row in fv.rows or ():
            cell = _field(row, column)
            if cell is not None:
                out.append(_num(cell))
    return out


def clean_text(value: str | None) -> str | None:
    """A value for a derived text column: NUL (which PostgreSQL text refuses) becomes U+FFFD.
    The record's body keeps the original (as a JSON escape)."""
    return value.replace("\0", "\ufffd") if value is not None and "\0" in value else value


def derive(record: Any) -> Derived:
    """The statistics values of a record (see Derived)."""
    fields = record.fields
    try:
        ts = record.captured_at.timestamp()
    except (OverflowError, OSError, ValueError):
        ts = None
    ctdivol = _num(_field(fields, "ctdivol"))
    if ctdivol is None:
        rows = [v for v in _column(fields, "ctdivol") if v is not None]
        ctdivol = max(rows) if rows else None
    dlp = _num(_field(fields, "total_dlp"))
    if dlp is None:
        dlp = _num(_field(fields, "dlp"))
    if dlp is None:
        rows = _column(fields, "dlp")
        dlp = sum(rows) if rows and all(v is not None for v in rows) else None  # type: ignore[arg-type]
    return Derived(captured_ts=ts, technologist=_text(fields, TECHNOLOGIST_FIELDS),
                   protocol=_text(fields, PROTOCOL_FIELDS), ctdivol=ctdivol, dlp=dlp)


Evaluate = Callable[[Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class Gap:
    """Sequence numbers of a station that central has not received (first..last, inclusive)."""

    station: str
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


@dataclass
class Incoming:
    """A record message that passed checks, waiting to be stored."""

    station: str
    seq: int
    record_id: str
    header: dict[str, Any]
    body: str
    record: Any  # qc_client.record.Record
    attachments: Sequence[bytes] = ()
    key: str | None = None  # the CURVE public key (z85) it came with, when keys are on


@dataclass
class Stored:
    """What storing one incoming record gave."""

    incoming: Incoming
    duplicate: bool
    gap: Gap | None = None
    feedback: list[dict[str, Any]] | None = None  # bodies (new: from rules; duplicate: as stored before)
    error: str | None = None  # this record could not be stored (the others of its batch were): reject it


class Store(Protocol):
    """What the receiver needs of a central store (SQLite: CentralStore; PostgreSQL: central.pg_store)."""

    def save(self, batch: Iterable[Incoming], evaluate: Evaluate | None) -> list[Stored]: ...
    def seen(self, station: str, now: float | None = None) -> None: ...
    def gaps(self, station: str | None = None) -> list[Gap]: ...
    def gap_events(self, station: str | None = None) -> list[tuple[str, int, int, float]]: ...
    def count(self, station: str | None = None) -> int: ...
    def records(self, station: str | None = None) -> list[tuple[str, int, str, str]]: ...
    def feedback(self, record_id: str | None = None) -> list[dict[str, Any]]: ...
    def stations(self) -> list[dict[str, Any]]: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def close(self) -> None: ...


class CentralStore:
    """The SQLite store (see module docstring); schema version in PRAGMA user_version."""

    dialect = "sqlite"  # placeholders are ?

    def __init__(self, path: str | os.PathLike, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._migrate()
            for statement in _ACKS.split(";"):
                self._db.execute(statement)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SchemaError(f"{self.path}: not a usable qcedge central store ({exc})") from None
        except SchemaError:
            self._db.close()
            raise
        self._max_seq: dict[str, int] = {}  # cache of stations.max_seq

    def _migrate(self) -> None:
        """Create the schema, or bring an older one up to SCHEMA_VERSION; refuse a newer one."""
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise SchemaError(f"{self.path}: schema version {version} is newer than this qcedge understands "
                              f"({SCHEMA_VERSION}); use the qcedge that made it, or a newer one")
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            for table, column, kind in _DERIVED_COLUMNS:
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            for statement in _DERIVED_INDEXES.split(";"):
                if statement.strip():
                    db.execute(statement)
            self._backfill(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if version:
            log.info("central store %s migrated from schema version %d to %d", self.path, version, SCHEMA_VERSION)

    @staticmethod
    def _backfill(db: sqlite3.Connection) -> None:
        """Derived values of records stored before version 2."""
        from qcedge.qc_client.record import Record

        rows = db.execute("SELECT rowid, body FROM records WHERE captured_ts IS NULL").fetchall()
        for rowid, body in rows:
            try:
                d = derive(Record.model_validate_json(body))
            except ValueError:
                continue
            db.execute("UPDATE records SET captured_ts=?, technologist=?, protocol=?, ctdivol=?, dlp=? WHERE rowid=?",
                       (d.captured_ts, d.technologist, d.protocol, d.ctdivol, d.dlp, rowid))
        if rows:
            db.execute("UPDATE feedback SET site=r.site, modality=r.modality, template=r.template, "
                       "captured_ts=r.captured_ts FROM records r WHERE r.station=feedback.station "
                       "AND r.record_id=feedback.record_id AND feedback.captured_ts IS NULL")

    def save(self, batch: Iterable[Incoming], evaluate) -> list[Stored]:
        """Store a batch in ONE transaction (committed on return). `evaluate(record)` -> feedback bodies,
        called for each new record; its feedback is stored in the same transaction.

        Each record has its own savepoint: one that cannot be stored (a value the database refuses)
        comes back with `error` set and costs the others nothing. A database that fails as a whole
        (disk full, I/O error) raises and nothing of the batch is committed or acked.
        """
        out: list[Stored] = []
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            max_seq = dict(self._max_seq)
            try:
                touched: dict[str, list[int]] = {}  # station -> [new records, duplicates]
                for inc in batch:
                    db.execute("SAVEPOINT one")
                    try:
                        result = self._save_one(db, inc, evaluate, now, max_seq)
                    except (sqlite3.OperationalError, MemoryError):
                        raise  # the database itself fails: the whole batch goes back
                    except Exception as exc:  # noqa: BLE001 - this record only
                        db.execute("ROLLBACK TO one")
                        db.execute("RELEASE one")
                        log.warning("record %s of station %s could not be stored: %s", inc.record_id, inc.station,
                                    type(exc).__name__)
                        out.append(Stored(inc, duplicate=False, error=f"central could not store the record "
                                                                      f"({type(exc).__name__})"))
                        continue
                    db.execute("RELEASE one")
                    counts = touched.setdefault(inc.station, [0, 0])
                    counts[1 if result.duplicate else 0] += 1
                    out.append(result)
                for station, (new, dups) in touched.items():
                    db.execute("INSERT INTO stations(station, max_seq, records, duplicates, first_seen, last_seen) "
                               "VALUES(?,?,?,?,?,?) ON CONFLICT(station) DO UPDATE SET max_seq=excluded.max_seq, "
                               "records=records+excluded.records, duplicates=duplicates+excluded.duplicates, "
                               "last_seen=excluded.last_seen",
                               (station, max_seq[station], new, dups, now, now))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._max_seq.clear()  # reload from the database
                raise
            self._max_seq = max_seq
        return out

    def _save_one(self, db: sqlite3.Connection, inc: Incoming, evaluate, now: float,
                  max_seq: dict[str, int]) -> Stored:
        d = derive(inc.record)
        cur = db.execute(
            "INSERT OR IGNORE INTO records(station, record_id, seq, received_at, site, template, "
            "template_version, modality, status, captured_at, body, attachments, captured_ts, technologist, "
            "protocol, ctdivol, dlp) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (inc.station, inc.record_id, inc.seq, now, inc.record.site,
             inc.record.template.id if inc.record.template else None,
             inc.record.template.version if inc.record.template else None,
             inc.record.modality, inc.record.status, inc.record.captured_at.isoformat(),
             inc.body, pack_attachments(inc.attachments), d.captured_ts, d.technologist, d.protocol,
             d.ctdivol, d.dlp))
        if inc.station not in max_seq:
            max_seq[inc.station] = self._max_seq_of(inc.station)
        high = max_seq[inc.station]
        duplicate = cur.rowcount == 0
        if duplicate:
            # sent again, maybe under a new seq (submitted again after its ack): that seq was used
            # for this record, so it is no gap (seq_aliases joins records in gaps())
            alias = db.execute("INSERT OR IGNORE INTO seq_aliases(station, seq, record_id) "
                               "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM records WHERE station=? AND seq=?)",
                               (inc.station, inc.seq, inc.record_id, inc.station, inc.seq)).rowcount
            if not alias:
                fb = [json.loads(r[0]) for r in db.execute(
                    "SELECT body FROM feedback WHERE station=? AND record_id=? ORDER BY id",
                    (inc.station, inc.record_id))]
                return Stored(inc, duplicate=True, feedback=fb)
        gap = None
        if high and inc.seq > high + 1:
            gap = Gap(inc.station, high + 1, inc.seq - 1)
            db.execute("INSERT INTO gap_events(station, first_seq, last_seq, detected_at) VALUES(?,?,?,?)",
                       (inc.station, gap.first, gap.last, now))
        max_seq[inc.station] = max(high, inc.seq)
        if duplicate:
            fb = [json.loads(r[0]) for r in db.execute(
                "SELECT body FROM feedback WHERE station=? AND record_id=? ORDER BY id",
                (inc.station, inc.record_id))]
            return Stored(inc, duplicate=True, gap=gap, feedback=fb)
        bodies = evaluate(inc.record) if evaluate else []
        rec = inc.record
        for body in bodies:
            db.execute("INSERT INTO feedback(station, record_id, seq, rule, layer, level, body, created_at, "
                       "site, modality, template, captured_ts) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                       (inc.station, inc.record_id, inc.seq, body.get("rule"), body.get("layer"),
                        body["level"], json.dumps(body, ensure_ascii=False), now, rec.site, rec.modality,
                        rec.template.id if rec.template else None, d.captured_ts))
        return Stored(inc, duplicate=False, gap=gap, feedback=bodies)

    def _max_seq_of(self, station: str) -> int:
        if station not in self._max_seq:
            row = self._db.execute("SELECT max_seq FROM stations WHERE station=?", (station,)).fetchone()
            self._max_seq[station] = row[0] if row else 0
        return self._max_seq[station]

    def seen(self, station: str, now: float | None = None) -> None:
        with self._lock:
            self._db.execute("UPDATE stations SET last_seen=? WHERE station=?", (now or time.time(), station))

    # -- queries ---------------------------------------------------------------------------------
    def gaps(self, station: str | None = None) -> list[Gap]:
        """Sequence ranges missing now, between the lowest and highest seq received per station."""
        # a seq counts as received when a record came with it, or a record sent again under it
        sql = ("SELECT station, prev + 1, seq - 1 FROM (SELECT station, seq, "
               "lag(seq) OVER (PARTITION BY station ORDER BY seq) AS prev FROM "
               "(SELECT station, seq FROM records {where} UNION SELECT station, seq FROM seq_aliases {where})) "
               "WHERE prev IS NOT NULL AND seq > prev + 1 ORDER BY station, seq")
        with self._lock:
            if station is None:
                rows = self._db.execute(sql.format(where="")).fetchall()
            else:
                rows = self._db.execute(sql.format(where="WHERE station=?"), (station, station)).fetchall()
        return [Gap(s, a, b) for s, a, b in rows]

    def gap_events(self, station: str | None = None) -> list[tuple[str, int, int, float]]:
        """Every gap seen on arrival (also those filled later by a late record)."""
        with self._lock:
            q = "SELECT station, first_seq, last_seq, detected_at FROM gap_events"
            if station is None:
                return self._db.execute(q + " ORDER BY rowid").fetchall()
            return self._db.execute(q + " WHERE station=? ORDER BY rowid", (station,)).fetchall()

    def count(self, station: str | None = None) -> int:
        with self._lock:
            if station is None:
                return self._db.execute("SELECT count(*) FROM records").fetchone()[0]
            return self._db.execute("SELECT count(*) FROM records WHERE station=?", (station,)).fetchone()[0]

    def records(self, station: str | None = None) -> list[tuple[str, int, str, str]]:
        """(station, seq, record_id, body JSON) ordered by station and seq."""
        with self._lock:
            q = "SELECT station, seq, record_id, body FROM records"
            if station is None:
                return self._db.execute(q + " ORDER BY station, seq").fetchall()
            return self._db.execute(q + " WHERE station=? ORDER BY seq", (station,)).fetchall()

    def feedback(self, record_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            q = "SELECT station, record_id, seq, body FROM feedback"
            rows = (self._db.execute(q + " ORDER BY id").fetchall() if record_id is None
                    else self._db.execute(q + " WHERE record_id=? ORDER BY id", (record_id,)).fetchall())
        return [{"station": s, "record_id": r, "seq": q_, **json.loads(b)} for s, r, q_, b in rows]

    def acknowledge(self, station: str, record_id: str, *, rule: str | None = None, level: str | None = None,
                    by: str | None = None, at: str | None = None, now: float | None = None) -> None:
        """Note that the station's technologist acknowledged the feedback (record, rule) at `at`."""
        with self._lock:
            self._db.execute("INSERT INTO feedback_acks(station, record_id, rule, level, acknowledged_by, "
                             "acknowledged_at, received_at) VALUES (?,?,?,?,?,?,?)",
                             (station, record_id, rule, level, by, at, time.time() if now is None else now))

    def acknowledgements(self, record_id: str | None = None) -> list[dict[str, Any]]:
        """The acknowledgements of feedback, oldest first (of one record, or all)."""
        cols = ("station", "record_id", "rule", "level", "acknowledged_by", "acknowledged_at", "received_at")
        q = f"SELECT {', '.join(cols)} FROM feedback_acks"
        with self._lock:
            rows = (self._db.execute(q + " ORDER BY id").fetchall() if record_id is None
                    else self._db.execute(q + " WHERE record_id=? ORDER BY id", (record_id,)).fetchall())
        return [dict(zip(cols, r)) for r in rows]

    def stations(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT station, max_seq, records, duplicates, first_seen, last_seen "
                                    "FROM stations ORDER BY station").fetchall()
        return [dict(zip(("station", "max_seq", "records", "duplicates", "first_seen", "last_seen"), r)) for r in rows]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only query (statistics, review); `?` placeholders."""
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
