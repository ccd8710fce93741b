"""Central's record store (SQLite, WAL): records by (station, record id), sequences, gaps, feedback.

`CentralStore` is the embedded default; `central.pg_store.PostgresStore` keeps the same
interface (`Store`) on PostgreSQL. Both keep a few values derived from each record
(qc_client.derived: capture time, technologist, protocol or body part, CTDIvol, DLP) in columns
of their own, so statistics need not parse the bodies. The schema and its migration:
qc_client.store_schema.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

from qcedge.qc_client.derived import PROTOCOL_FIELDS, TECHNOLOGIST_FIELDS, Derived, clean_text, derive
from qcedge.qc_client.outbox import pack_attachments
from qcedge.qc_client.store_schema import SCHEMA_VERSION, SchemaError, migrate

__all__ = ["CentralStore", "Store", "Gap", "Incoming", "Stored", "Evaluate", "SchemaError", "SCHEMA_VERSION",
           "Derived", "derive", "clean_text", "TECHNOLOGIST_FIELDS", "PROTOCOL_FIELDS"]

log = logging.getLogger(__name__)


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
            migrate(self._db, self.path)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SchemaError(f"{self.path}: not a usable qcedge central store ({exc})") from None
        except SchemaError:
            self._db.close()
            raise
        self._max_seq: dict[str, int] = {}  # cache of stations.max_seq

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
        return self._rows("SELECT station, first_seq, last_seq, detected_at FROM gap_events", "station", station,
                          "rowid")

    def count(self, station: str | None = None) -> int:
        with self._lock:
            if station is None:
                return self._db.execute("SELECT count(*) FROM records").fetchone()[0]
            return self._db.execute("SELECT count(*) FROM records WHERE station=?", (station,)).fetchone()[0]

    def records(self, station: str | None = None) -> list[tuple[str, int, str, str]]:
        """(station, seq, record_id, body JSON) ordered by station and seq."""
        return self._rows("SELECT station, seq, record_id, body FROM records", "station", station, "station, seq")

    def feedback(self, record_id: str | None = None) -> list[dict[str, Any]]:
        rows = self._rows("SELECT station, record_id, seq, body FROM feedback", "record_id", record_id, "id")
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
        rows = self._rows(f"SELECT {', '.join(cols)} FROM feedback_acks", "record_id", record_id, "id")
        return [dict(zip(cols, r)) for r in rows]

    def stations(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT station, max_seq, records, duplicates, first_seen, last_seen "
                                    "FROM stations ORDER BY station").fetchall()
        return [dict(zip(("station", "max_seq", "records", "duplicates", "first_seen", "last_seen"), r)) for r in rows]

    def _rows(self, select: str, column: str, value: str | None, order: str) -> list[tuple]:
        """Rows of `select` whose `column` is `value` (every row when value is None), ordered by `order`."""
        where, params = ("", ()) if value is None else (f" WHERE {column}=?", (value,))
        with self._lock:
            return self._db.execute(f"{select}{where} ORDER BY {order}", params).fetchall()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows of a read-only query (statistics, review); `?` placeholders."""
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
