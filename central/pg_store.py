"""Central's store on PostgreSQL: the semantics of qc_client.store.CentralStore, shared by receivers.

Several receivers (processes, or machines) may write to one database at once:
- a record is stored once: (station, record_id) is the primary key and inserts are
  `ON CONFLICT DO NOTHING`, so the second receiver to get a record acks it `duplicate`
  with the feedback the first stored;
- each batch locks its stations' rows (`stations`, in name order, so two receivers never
  deadlock) before it reads their highest seq, so gaps are judged on the true highest seq;
- a batch is one transaction, committed (synchronous_commit on) before any ack goes out;
  records go in with one pipelined statement, and only when PostgreSQL refuses one of them
  is the batch redone record by record, each in a savepoint, so the bad one is rejected alone;
- a lost connection (PostgreSQL restarted) fails the batch, nothing of it acked (the stations
  resend); the next batch connects again.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Iterable

import psycopg
from psycopg.conninfo import conninfo_to_dict

from qcedge.central.errors import StoreUnavailable
from qcedge.central.pg_schema import migrate
from qcedge.qc_client.outbox import pack_attachments
from qcedge.qc_client.derived import clean_text, derive
from qcedge.qc_client.store import Evaluate, Gap, Incoming, Stored

log = logging.getLogger(__name__)


def redact(conninfo: str) -> str:
    """A connection string for messages: host, port, database and user, never the password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unreadable connection string)"
    keep = [f"{k}={parts[k]}" for k in ("host", "port", "dbname", "user") if parts.get(k)]
    return "postgresql (" + " ".join(keep) + ")" if keep else "postgresql (defaults)"


_INSERT = ("INSERT INTO records(station, record_id, seq, received_at, site, template, template_version, modality, "
           "status, captured_at, body, attachments, captured_ts, technologist, protocol, ctdivol, dlp) "
           "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
           "ON CONFLICT (station, record_id) DO NOTHING RETURNING 1")


def _params(inc: Incoming, now: float) -> tuple:
    rec = inc.record
    d = derive(rec)
    return (inc.station, inc.record_id, inc.seq, now, clean_text(rec.site),
            clean_text(rec.template.id) if rec.template else None,
            clean_text(rec.template.version) if rec.template else None,
            clean_text(rec.modality), rec.status, rec.captured_at.isoformat(), inc.body,
            pack_attachments(inc.attachments), d.captured_ts, d.technologist, d.protocol, d.ctdivol, d.dlp)


def _fatal(exc: BaseException, conn: psycopg.Connection) -> bool:
    """The database (or the connection) fails as a whole, not one record."""
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) or conn.broken or conn.closed


class PostgresStore:
    """See module docstring. `conninfo`: a postgresql:// URL or a libpq keyword string."""

    dialect = "postgresql"  # placeholders are %s

    def __init__(self, conninfo: str, *, connect_timeout: float = 10.0) -> None:
        self.conninfo = conninfo
        self.where = redact(conninfo)
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn = self._connect()
        try:
            migrate(self._conn, self.where)
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.conninfo, autocommit=True, connect_timeout=max(1, int(self.connect_timeout)),
                                   application_name="qcedge-central")
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(f"cannot connect to {self.where}: {first}") from None

    def _db(self) -> psycopg.Connection:
        if self._conn.closed or self._conn.broken:
            log.warning("connection to %s lost: connecting again", self.where)
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    # -- writing --------------------------------------------------------------------------------
    def save(self, batch: Iterable[Incoming], evaluate: Evaluate | None) -> list[Stored]:
        """Store a batch in one transaction (committed on return); see CentralStore.save."""
        items = list(batch)
        if not items:
            return []
        now = time.time()
        with self._lock:
            conn = self._db()
            try:
                with conn.transaction():
                    return self._save(conn, items, evaluate, now)
            except psycopg.Error as exc:
                if _fatal(exc, conn):
                    log.warning("batch of %d records not stored (%s): nothing acked, stations resend",
                                len(items), type(exc).__name__)
                raise

    def _save(self, conn: psycopg.Connection, items: list[Incoming], evaluate: Evaluate | None,
              now: float) -> list[Stored]:
        cur = conn.cursor()
        stations = sorted({inc.station for inc in items})
        cur.execute("INSERT INTO stations(station, first_seen, last_seen) SELECT s, %s, %s FROM unnest(%s::text[]) s "
                    "ON CONFLICT (station) DO NOTHING", (now, now, stations))
        cur.execute("SELECT station, max_seq FROM stations WHERE station = ANY(%s) ORDER BY station FOR UPDATE",
                    (stations,))
        max_seq: dict[str, int] = dict(cur.fetchall())
        inserted = self._insert(conn, items, now)
        out: list[Stored] = []
        gaps: list[tuple] = []
        new_feedback: list[tuple] = []
        counts: dict[str, list[int]] = {}
        duplicates: list[int] = []  # indexes into out
        for inc, result in zip(items, inserted):
            if isinstance(result, str):
                out.append(Stored(inc, duplicate=False, error=result))
                continue
            high = max_seq.get(inc.station, 0)
            duplicate = not result
            counts.setdefault(inc.station, [0, 0])[1 if duplicate else 0] += 1
            if duplicate:
                cur.execute("INSERT INTO seq_aliases(station, seq, record_id) SELECT %s, %s, %s WHERE NOT EXISTS "
                            "(SELECT 1 FROM records WHERE station=%s AND seq=%s) ON CONFLICT DO NOTHING",
                            (inc.station, inc.seq, inc.record_id, inc.station, inc.seq))
                if not cur.rowcount:
                    duplicates.append(len(out))
                    out.append(Stored(inc, duplicate=True))
                    continue
            gap = None
            if high and inc.seq > high + 1:
                gap = Gap(inc.station, high + 1, inc.seq - 1)
                gaps.append((inc.station, gap.first, gap.last, now))
            max_seq[inc.station] = max(high, inc.seq)
            if duplicate:
                duplicates.append(len(out))
                out.append(Stored(inc, duplicate=True, gap=gap))
                continue
            bodies = evaluate(inc.record) if evaluate else []
            rec = inc.record
            ts = derive(rec).captured_ts if bodies else None
            for body in bodies:
                new_feedback.append((inc.station, inc.record_id, inc.seq, clean_text(body.get("rule")),
                                     clean_text(body.get("layer")), body["level"], json.dumps(body, ensure_ascii=False),
                                     now, clean_text(rec.site), clean_text(rec.modality),
                                     clean_text(rec.template.id) if rec.template else None, ts))
            out.append(Stored(inc, duplicate=False, gap=gap, feedback=bodies))
        if gaps:
            cur.executemany("INSERT INTO gap_events(station, first_seq, last_seq, detected_at) VALUES (%s,%s,%s,%s)",
                            gaps)
        if new_feedback:
            cur.executemany("INSERT INTO feedback(station, record_id, seq, rule, layer, level, body, created_at, "
                            "site, modality, template, captured_ts) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                            new_feedback)
        if duplicates:
            self._stored_feedback(cur, [out[i] for i in duplicates])
        if counts:
            cur.executemany("UPDATE stations SET max_seq=GREATEST(max_seq, %s), records=records+%s, "
                            "duplicates=duplicates+%s, last_seen=%s WHERE station=%s",
                            [(max_seq.get(s, 0), n, d, now, s) for s, (n, d) in sorted(counts.items())])
        return out

    def _insert(self, conn: psycopg.Connection, items: list[Incoming], now: float) -> list[bool | str]:
        """Insert the records: True (new), False (stored before), or the error for one the database refused."""
        params = []
        for inc in items:
            try:
                params.append(_params(inc, now))
            except (ValueError, OverflowError) as exc:  # a value that cannot be put in a column
                params.append(exc)
        if not any(isinstance(p, Exception) for p in params):
            try:
                with conn.transaction():  # a savepoint: a refused record undoes only this attempt
                    cur = conn.cursor()
                    cur.executemany(_INSERT, params, returning=True)
                    results: list[bool | str] = []
                    while True:
                        results.append(cur.fetchone() is not None)
                        if not cur.nextset():
                            break
                    return results
            except psycopg.Error as exc:
                if _fatal(exc, conn):
                    raise
                log.info("a record of a batch was refused (%s): storing the batch one by one", type(exc).__name__)
        out: list[bool | str] = []
        for inc, p in zip(items, params):
            if isinstance(p, Exception):
                out.append(self._refused(inc, p))
                continue
            try:
                with conn.transaction():
                    cur = conn.execute(_INSERT, p)
                    out.append(cur.fetchone() is not None)
            except psycopg.Error as exc:
                if _fatal(exc, conn):
                    raise
                out.append(self._refused(inc, exc))
        return out

    @staticmethod
    def _refused(inc: Incoming, exc: BaseException) -> str:
        log.warning("record %s of station %s could not be stored: %s", inc.record_id.encode("unicode_escape")[:80],
                    inc.station, type(exc).__name__)
        return f"central could not store the record ({type(exc).__name__})"

    @staticmethod
    def _stored_feedback(cur: psycopg.Cursor, dups: list[Stored]) -> None:
        by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
        stations = sorted({s.incoming.station for s in dups})
        for station in stations:
            ids = [s.incoming.record_id for s in dups if s.incoming.station == station]
            cur.execute("SELECT record_id, body FROM feedback WHERE station=%s AND record_id = ANY(%s) ORDER BY id",
                        (station, ids))
            for rid, body in cur.fetchall():
                by_key.setdefault((station, rid), []).append(json.loads(body))
        for s in dups:
            s.feedback = by_key.get((s.incoming.station, s.incoming.record_id), [])

    def seen(self, station: str, now: float | None = None) -> None:
        with self._lock:
            self._db().execute("UPDATE stations SET last_seen=%s WHERE station=%s", (now or time.time(), station))

    # -- queries --------------------------------------------------------------------------------
    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db().execute(sql, params).fetchall()

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows of a read-only query (statistics, review); `%s` placeholders."""
        return self._all(sql, tuple(params))

    def gaps(self, station: str | None = None) -> list[Gap]:
        """Sequence ranges missing now, between the lowest and highest seq received per station."""
        where = "" if station is None else "WHERE station=%s"
        sql = ("SELECT station, prev + 1, seq - 1 FROM (SELECT station, seq, "
               "lag(seq) OVER (PARTITION BY station ORDER BY seq) AS prev FROM "
               f"(SELECT station, seq FROM records {where} UNION SELECT station, seq FROM seq_aliases {where}) u) w "
               "WHERE prev IS NOT NULL AND seq > prev + 1 ORDER BY station, seq")
        rows = self._all(sql, () if station is None else (station, station))
        return [Gap(s, a, b) for s, a, b in rows]

    def gap_events(self, station: str | None = None) -> list[tuple[str, int, int, float]]:
        q = "SELECT station, first_seq, last_seq, detected_at FROM gap_events"
        if station is None:
            return self._all(q + " ORDER BY id")
        return self._all(q + " WHERE station=%s ORDER BY id", (station,))

    def count(self, station: str | None = None) -> int:
        if station is None:
            return self._all("SELECT count(*) FROM records")[0][0]
        return self._all("SELECT count(*) FROM records WHERE station=%s", (station,))[0][0]

    def records(self, station: str | None = None) -> list[tuple[str, int, str, str]]:
        q = "SELECT station, seq, record_id, body FROM records"
        if station is None:
            return self._all(q + " ORDER BY station, seq")
        return self._all(q + " WHERE station=%s ORDER BY seq", (station,))

    def feedback(self, record_id: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT station, record_id, seq, body FROM feedback"
        rows = self._all(q + " ORDER BY id") if record_id is None else \
            self._all(q + " WHERE record_id=%s ORDER BY id", (record_id,))
        return [{"station": s, "record_id": r, "seq": q_, **json.loads(b)} for s, r, q_, b in rows]

    def acknowledge(self, station: str, record_id: str, *, rule: str | None = None, level: str | None = None,
                    by: str | None = None, at: str | None = None, now: float | None = None) -> None:
        """Note that the station's technologist acknowledged the feedback (record, rule) at `at`."""
        with self._lock:
            self._db().execute("INSERT INTO feedback_acks(station, record_id, rule, level, acknowledged_by, "
                               "acknowledged_at, received_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                               (station, record_id, rule, level, by, at, time.time() if now is None else now))

    def acknowledgements(self, record_id: str | None = None) -> list[dict[str, Any]]:
        """The acknowledgements of feedback, oldest first (of one record, or all)."""
        cols = ("station", "record_id", "rule", "level", "acknowledged_by", "acknowledged_at", "received_at")
        q = f"SELECT {', '.join(cols)} FROM feedback_acks"
        rows = self._all(q + " ORDER BY id") if record_id is None else \
            self._all(q + " WHERE record_id=%s ORDER BY id", (record_id,))
        return [dict(zip(cols, r)) for r in rows]

    def stations(self) -> list[dict[str, Any]]:
        rows = self._all("SELECT station, max_seq, records, duplicates, first_seen, last_seen FROM stations "
                         "ORDER BY station")
        return [dict(zip(("station", "max_seq", "records", "duplicates", "first_seen", "last_seen"), r)) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
