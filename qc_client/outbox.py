"""The station's durable outbox: a record is committed here before anything is sent.

SQLite in WAL mode. A record leaves the outbox only when central acknowledges it
(`ack`), or is kept aside as `rejected` when central refuses it for good. Sequence
numbers are per station and monotonic across restarts (kept in their own table,
so acking every record never makes a number come back).

One connection guarded by a lock: safe to use from the daemon's thread and the
feed client's I/O thread at once.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from qcedge.qc_client.errors import QcClientError
from qcedge.qc_client.protocol import DEFAULT_MAX_BYTES, encode
from qcedge.qc_client.record import Record

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # meta 'schema' of an outbox this code made or migrated (see _MIGRATIONS)
RESEND_NOW = 1.0  # a next_attempt that is due at once but marks a record as sent before (0 = never sent)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences(station TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox(
    record_id    TEXT PRIMARY KEY,
    station      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    created_at   REAL NOT NULL,
    header       TEXT NOT NULL,
    body         TEXT NOT NULL,
    attachments  BLOB,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_sent    REAL,
    state        TEXT NOT NULL DEFAULT 'pending',
    error        TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt, seq);
"""  # version 1, as the first qcedge wrote it; later versions are _MIGRATIONS applied on top


class OutboxSchemaError(QcClientError, ValueError):
    """An outbox this code cannot use (a newer schema, or not an outbox); one line, naming the file."""


def _to_2(db: sqlite3.Connection) -> None:
    # pending records in sequence order (pending(), depth()) without a sort: a station cut off from
    # central for weeks has thousands of them
    db.execute("CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, seq)")


_MIGRATIONS = {1: _to_2}  # from version k to k+1; all due steps run in one transaction


def _schema_of(db: sqlite3.Connection, path: Path) -> int:
    """The schema version of an open outbox file (0: a new, empty file). Raises OutboxSchemaError."""
    try:
        has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() if has_meta else None
    except sqlite3.DatabaseError as exc:
        raise OutboxSchemaError(f"{path}: not a qcedge outbox ({exc})") from None
    if row is None:
        return 0
    try:
        version = int(row[0])
    except (TypeError, ValueError):
        raise OutboxSchemaError(f"{path}: outbox schema {row[0]!r} is not one qcedge wrote") from None
    if version > SCHEMA_VERSION:
        raise OutboxSchemaError(f"{path}: outbox schema {version} is newer than this qcedge understands "
                                f"({SCHEMA_VERSION}): run the qcedge that wrote it, or a newer one "
                                f"(the outbox is left as it is)")
    return version


def read_schema(path: str | os.PathLike) -> int:
    """The schema version of an outbox file, read without changing it. Raises OutboxSchemaError."""
    path = Path(path)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return _schema_of(db, path)
    finally:
        db.close()


def pack_attachments(parts: Sequence[bytes]) -> bytes | None:
    if not parts:
        return None
    return b"".join(struct.pack(">I", len(p)) + bytes(p) for p in parts)


def unpack_attachments(blob: bytes | None) -> list[bytes]:
    parts: list[bytes] = []
    if not blob:
        return parts
    pos = 0
    while pos < len(blob):
        (n,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        parts.append(blob[pos:pos + n])
        pos += n
    return parts


@dataclass
class OutboxItem:
    """One record waiting in the outbox."""

    record_id: str
    station: str
    seq: int
    created_at: float
    header: dict[str, Any]
    body: str
    attachments: list[bytes] = field(default_factory=list)
    attempts: int = 0
    next_attempt: float = 0.0
    last_sent: float | None = None
    state: str = "pending"
    error: str | None = None

    def wire_header(self, **extra: Any) -> dict[str, Any]:
        """The header of the record message for this item."""
        return {"station": self.station, "seq": self.seq, "record_id": self.record_id, **self.header, **extra}


_COLUMNS = "record_id, station, seq, created_at, header, body, attachments, attempts, next_attempt, last_sent, state, error"


def _item(row: tuple) -> OutboxItem:
    return OutboxItem(
        record_id=row[0], station=row[1], seq=row[2], created_at=row[3], header=json.loads(row[4]),
        body=row[5], attachments=unpack_attachments(row[6]), attempts=row[7], next_attempt=row[8],
        last_sent=row[9], state=row[10], error=row[11],
    )


class Outbox:
    """Durable queue of records to send. `synchronous` is SQLite's (FULL survives power loss)."""

    def __init__(self, path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
                 synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, got {synchronous!r}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        try:
            version = _schema_of(self._db, self.path)  # before anything is written: a newer file stays untouched
        except OutboxSchemaError:
            self._db.close()
            raise
        self._db.execute("PRAGMA journal_mode=WAL")
        self.synchronous = synchronous.upper()
        self._db.execute(f"PRAGMA synchronous={self.synchronous}")
        self._sync_now = self.synchronous
        self._db.executescript(_SCHEMA)
        # reads go through their own connection: in WAL mode they run while a writer is in fsync
        self._rlock = threading.Lock()
        self._rdb = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        self._migrate(version)
        self._closed = False

    def _migrate(self, version: int) -> None:
        """Bring the schema up to SCHEMA_VERSION in one transaction (interrupted: the old schema stays whole)."""
        if version == SCHEMA_VERSION:
            return
        with self._tx() as db:
            for step in range(max(version, 1), SCHEMA_VERSION):  # a new file has the version 1 tables already
                _MIGRATIONS[step](db)
            db.execute("INSERT INTO meta(key, value) VALUES('schema', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(SCHEMA_VERSION),))
        if version:
            log.info("outbox %s migrated from schema %d to %d", self.path, version, SCHEMA_VERSION)

    # -- transactions ---------------------------------------------------------------------------
    class _Tx:
        def __init__(self, outbox: "Outbox", durable: bool) -> None:
            self.outbox = outbox
            self.sync = outbox.synchronous if durable else "NORMAL"

        def __enter__(self) -> sqlite3.Connection:
            self.outbox._lock.acquire()
            try:
                if self.outbox._sync_now != self.sync:
                    self.outbox._db.execute(f"PRAGMA synchronous={self.sync}")
                    self.outbox._sync_now = self.sync
                self.outbox._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.outbox._lock.release()
                raise
            return self.outbox._db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.outbox._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.outbox._lock.release()

    def _tx(self, durable: bool = True) -> "Outbox._Tx":
        """A write transaction. Bookkeeping (sent marks, acks) need not reach the disk at once:
        losing it on power loss only means a resend, which central deduplicates."""
        return Outbox._Tx(self, durable)

    # -- writing --------------------------------------------------------------------------------
    def put(self, record: Record, attachments: Sequence[bytes] = ()) -> int:
        """Commit a record (durably) and return its sequence number.

        Putting a record id that is already waiting returns its existing number.
        Raises protocol.MessageTooLarge when the record would not fit in one message.
        """
        return self.put_many([(record, attachments)])[0]

    def put_many(self, records: Sequence[Record | tuple[Record, Sequence[bytes]]]) -> list[int]:
        """Commit several records in ONE transaction (one disk sync); their sequence numbers in order.

        All or nothing: if one is too large, none is committed.
        """
        return [item.seq for item, _ in self.put_items(records)]

    def put_items(self, records: Sequence[Record | tuple[Record, Sequence[bytes]]]) -> list[tuple[OutboxItem, bool]]:
        """Like put_many, giving each record's outbox item and whether it is new (False: it was waiting)."""
        rows = []
        for entry in records:
            record, attachments = entry if isinstance(entry, tuple) else (entry, ())
            rows.append((record, list(attachments), *self._prepare(record, attachments)))
        out: list[tuple[OutboxItem, bool]] = []
        with self._tx() as db:
            for record, attachments, header, body in rows:
                row = db.execute("SELECT seq FROM outbox WHERE record_id=?", (record.id,)).fetchone()
                now = time.time()
                if row is not None:
                    out.append((OutboxItem(record.id, record.station, int(row[0]), now, json.loads(header), body,
                                           attachments), False))
                    continue
                seq = db.execute(
                    "INSERT INTO sequences(station, last_seq) VALUES(?, 1) "
                    "ON CONFLICT(station) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
                    (record.station,),
                ).fetchone()[0]
                db.execute(
                    "INSERT INTO outbox(record_id, station, seq, created_at, header, body, attachments) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?)",
                    (record.id, record.station, seq, now, header, body, pack_attachments(attachments)),
                )
                out.append((OutboxItem(record.id, record.station, int(seq), now, json.loads(header), body,
                                       attachments), True))
        return out

    def _prepare(self, record: Record, attachments: Sequence[bytes]) -> tuple[str, str]:
        """(header JSON, body JSON) of a record; checks the size limit."""
        body = record.to_json()
        header = {
            "template": record.template.id if record.template else None,
            "template_version": record.template.version if record.template else None,
            "captured_at": record.captured_at.isoformat(),
        }
        if self.max_bytes is not None:
            # the exact message size, with a generous stand-in for the send-time fields
            encode("record", {"station": record.station, "seq": 2**53, "record_id": record.id, **header,
                              "sent_at": "2000-01-01T00:00:00.000+00:00", "attempt": 10**6},
                   body, attachments, max_bytes=self.max_bytes)
        return json.dumps(header), body

    def mark_sent(self, schedule: Iterable[tuple[str, float]], sent_at: float | None = None) -> None:
        """Note that records were sent; each gets its next-attempt time (backoff)."""
        sent_at = time.time() if sent_at is None else sent_at
        rows = [(sent_at, when, rid) for rid, when in schedule]
        if not rows:
            return
        with self._tx(durable=False) as db:
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_sent = ?, next_attempt = ? "
                "WHERE record_id = ? AND state = 'pending'", rows)

    def ack(self, record_id: str) -> bool:
        """Central has the record: it leaves the outbox. False if it was not there."""
        return self.ack_many([record_id]) == 1

    def ack_many(self, record_ids: Iterable[str]) -> int:
        ids = [(rid,) for rid in record_ids]
        if not ids:
            return 0
        with self._tx(durable=False) as db:
            before = db.total_changes
            db.executemany("DELETE FROM outbox WHERE record_id = ?", ids)
            return db.total_changes - before

    def reject(self, record_id: str, error: str) -> bool:
        """Central refused the record for good: keep it aside (state 'rejected'), never resend."""
        with self._tx(durable=False) as db:
            cur = db.execute("UPDATE outbox SET state='rejected', error=? WHERE record_id=? AND state='pending'",
                             (error, record_id))
            return cur.rowcount == 1

    def reschedule_all(self, when: float = 0.0, sent_before: float | None = None) -> int:
        """Make pending records due at `when` (after a reconnect: resend at once).

        Only rows due later than `when` change; with `sent_before`, only rows last sent before it
        (so records already sent on the new connection are not sent twice).
        """
        sql = "UPDATE outbox SET next_attempt=? WHERE state='pending' AND next_attempt > ?"
        args: tuple = (when, when)
        if sent_before is not None:
            sql += " AND (last_sent IS NULL OR last_sent < ?)"
            args += (sent_before,)
        with self._tx(durable=False) as db:
            return db.execute(sql, args).rowcount

    def requeue_rejected(self) -> int:
        """Put rejected records back in the queue (after the cause was fixed)."""
        with self._tx() as db:
            return db.execute("UPDATE outbox SET state='pending', error=NULL, next_attempt=0 "
                              "WHERE state='rejected'").rowcount

    # -- reading --------------------------------------------------------------------------------
    def due(self, limit: int = 100, now: float | None = None, *, station: str | None = None,
            skip_unsent_upto: int = 0) -> list[OutboxItem]:
        """Pending records whose next attempt has come: never-sent ones (next_attempt 0) first, lowest
        sequence first; then those whose backoff ran out, oldest deadline first.

        `skip_unsent_upto` leaves out never-marked records up to that seq (a sender's records in
        flight that it did not note yet); `station` keeps one station's records.
        """
        now = time.time() if now is None else now
        sql = f"SELECT {_COLUMNS} FROM outbox WHERE state='pending' AND next_attempt <= ?"
        args: list[Any] = [now]
        if skip_unsent_upto:
            sql += " AND (next_attempt > 0 OR seq > ?)"
            args.append(skip_unsent_upto)
        if station is not None:
            sql += " AND station = ?"
            args.append(station)
        with self._rlock:
            rows = self._rdb.execute(sql + " ORDER BY next_attempt, seq LIMIT ?", (*args, limit)).fetchall()
        return [_item(r) for r in rows]

    def next_due_time(self) -> float | None:
        """When the next pending record is due (wall time), None if nothing is pending."""
        with self._rlock:
            row = self._rdb.execute("SELECT min(next_attempt) FROM outbox WHERE state='pending'").fetchone()
        return row[0]

    def pending(self, limit: int | None = None) -> list[OutboxItem]:
        """Records waiting for an ack (sent or not), lowest sequence first."""
        with self._rlock:
            rows = self._rdb.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state='pending' ORDER BY seq LIMIT ?",
                (-1 if limit is None else limit,)).fetchall()
        return [_item(r) for r in rows]

    def rejected(self) -> list[OutboxItem]:
        with self._rlock:
            rows = self._rdb.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state='rejected' ORDER BY seq").fetchall()
        return [_item(r) for r in rows]

    def get(self, record_id: str) -> OutboxItem | None:
        with self._rlock:
            row = self._rdb.execute(f"SELECT {_COLUMNS} FROM outbox WHERE record_id=?", (record_id,)).fetchone()
        return _item(row) if row else None

    def depth(self) -> int:
        """Records waiting for an ack."""
        with self._rlock:
            return self._rdb.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0]

    def last_seq(self, station: str) -> int:
        """The last sequence number given to a station (0 if none yet)."""
        with self._rlock:
            row = self._rdb.execute("SELECT last_seq FROM sequences WHERE station=?", (station,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                with self._rlock:
                    self._rdb.close()

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
