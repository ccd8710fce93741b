"""The SQLite store's schema (qc_client.store.CentralStore): tables, version, migration.

The version is PRAGMA user_version: an older store is migrated on open (derived values are
filled in for the records it holds), a newer one is refused with SchemaError.
"""
from __future__ import annotations

import logging
import os
import sqlite3

from qcedge.qc_client.derived import derive
from qcedge.qc_client.errors import QcClientError

log = logging.getLogger(__name__)

SCHEMA = """
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
DERIVED_COLUMNS = (("records", "captured_ts", "REAL"), ("records", "technologist", "TEXT"),
                    ("records", "protocol", "TEXT"), ("records", "ctdivol", "REAL"), ("records", "dlp", "REAL"),
                    ("feedback", "site", "TEXT"), ("feedback", "modality", "TEXT"), ("feedback", "template", "TEXT"),
                    ("feedback", "captured_ts", "REAL"))
DERIVED_INDEXES = """
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
ACKS = """
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



class SchemaError(QcClientError, ValueError):
    """A store whose schema this qcedge cannot use (made by a newer qcedge, or not a qcedge store)."""


def migrate(db: sqlite3.Connection, path: str | os.PathLike) -> None:
    """Create the schema, or bring an older one up to SCHEMA_VERSION (refuse a newer one); add ACKS."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise SchemaError(f"{path}: schema version {version} is newer than this qcedge understands "
                          f"({SCHEMA_VERSION}); use the qcedge that made it, or a newer one")
    if version != SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            _execute_all(db, SCHEMA)
            for table, column, kind in DERIVED_COLUMNS:
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            _execute_all(db, DERIVED_INDEXES)
            _backfill(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if version:
            log.info("central store %s migrated from schema version %d to %d", path, version, SCHEMA_VERSION)
    _execute_all(db, ACKS)


def _execute_all(db: sqlite3.Connection, script: str) -> None:
    """Each statement of a script separated by semicolons (in the caller's transaction)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


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
