"""The PostgreSQL schema of central's store, created and migrated by qcedge.

`qcedge_schema` holds one row per applied migration; a database whose version is newer
than this code knows is refused (SchemaError), never written to.
"""
from __future__ import annotations

import logging

import psycopg

from qcedge.qc_client.store_schema import SchemaError

log = logging.getLogger(__name__)

_LOCK_KEY = 0x71636564  # advisory lock: receivers started together migrate one at a time

# MIGRATIONS[i] brings a database from version i to i + 1
MIGRATIONS: list[str] = [
    # 1: the receiver's tables, with the values derived for statistics (qc_client.derived.derive)
    """
    CREATE TABLE records(
        station          text NOT NULL,
        record_id        text NOT NULL,
        seq              bigint NOT NULL,
        received_at      double precision NOT NULL,
        site             text,
        template         text,
        template_version text,
        modality         text,
        status           text,
        captured_at      text,
        captured_ts      double precision,
        technologist     text,
        protocol         text,
        ctdivol          double precision,
        dlp              double precision,
        body             text NOT NULL,
        attachments      bytea,
        CONSTRAINT records_station_record PRIMARY KEY (station, record_id)
    );
    CREATE INDEX records_seq ON records(station, seq);
    CREATE INDEX records_time ON records(captured_ts);
    CREATE INDEX records_site_time ON records(site, captured_ts);
    CREATE TABLE stations(
        station     text PRIMARY KEY,
        max_seq     bigint NOT NULL DEFAULT 0,
        records     bigint NOT NULL DEFAULT 0,
        duplicates  bigint NOT NULL DEFAULT 0,
        first_seen  double precision,
        last_seen   double precision
    );
    CREATE TABLE gap_events(
        id          bigserial PRIMARY KEY,
        station     text NOT NULL,
        first_seq   bigint NOT NULL,
        last_seq    bigint NOT NULL,
        detected_at double precision NOT NULL
    );
    CREATE TABLE feedback(
        id          bigserial PRIMARY KEY,
        station     text NOT NULL,
        record_id   text NOT NULL,
        seq         bigint,
        rule        text,
        layer       text,
        level       text NOT NULL,
        body        text NOT NULL,
        created_at  double precision NOT NULL,
        site        text,
        modality    text,
        template    text,
        captured_ts double precision
    );
    CREATE INDEX feedback_record ON feedback(station, record_id);
    CREATE INDEX feedback_time ON feedback(captured_ts);
    CREATE TABLE seq_aliases(
        station     text NOT NULL,
        seq         bigint NOT NULL,
        record_id   text NOT NULL,
        PRIMARY KEY (station, seq)
    );
    """,
    # 2: review (a correction never changes the record: the original stays) and rectification items
    """
    CREATE TABLE corrections(
        id          bigserial PRIMARY KEY,
        station     text NOT NULL,
        record_id   text NOT NULL,
        field       text,
        old_value   text,
        new_value   text NOT NULL,
        reviewer    text NOT NULL,
        reason      text NOT NULL,
        created_at  double precision NOT NULL,
        FOREIGN KEY (station, record_id) REFERENCES records(station, record_id)
    );
    CREATE INDEX corrections_record ON corrections(station, record_id);
    CREATE TABLE rectifications(
        id          bigserial PRIMARY KEY,
        scope       text NOT NULL CHECK (scope IN ('site', 'station', 'technologist')),
        target      text NOT NULL,
        problem     text NOT NULL,
        plan        text NOT NULL,
        due         text NOT NULL,
        opened_by   text NOT NULL,
        opened_at   double precision NOT NULL,
        status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        closed_by   text,
        closed_at   double precision,
        outcome     text
    );
    """,
    # 3 -> acknowledgements of feedback by a station's technologist (feedback_ack)
    """
    CREATE TABLE feedback_acks(
        id              bigserial PRIMARY KEY,
        station         text NOT NULL,
        record_id       text NOT NULL,
        rule            text,
        level           text,
        acknowledged_by text,
        acknowledged_at text,
        received_at     double precision NOT NULL
    );
    CREATE INDEX feedback_acks_record ON feedback_acks(station, record_id);
    """,
]

LATEST = len(MIGRATIONS)


def schema_version(conn: psycopg.Connection) -> int:
    """The version of the database (0: no qcedge schema yet)."""
    if conn.execute("SELECT to_regclass('qcedge_schema')").fetchone()[0] is None:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM qcedge_schema").fetchone()[0]


def migrate(conn: psycopg.Connection, where: str, *, target: int = LATEST) -> int:
    """Create or bring the schema up to `target` (default the latest); returns the version before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        version = schema_version(conn)
        if version > LATEST:
            raise SchemaError(f"PostgreSQL database {where}: schema version {version} is newer than this qcedge "
                              f"understands ({LATEST}); use the qcedge that made it, or a newer one")
        if version == 0:
            if conn.execute("SELECT to_regclass('records')").fetchone()[0] is not None:
                raise SchemaError(f"PostgreSQL database {where} has a 'records' table but no qcedge schema "
                                  f"version: not a qcedge central store")
            conn.execute("CREATE TABLE qcedge_schema(version integer PRIMARY KEY, "
                         "migrated_at timestamptz NOT NULL DEFAULT now())")
        for v in range(version + 1, target + 1):
            conn.execute(MIGRATIONS[v - 1])
            conn.execute("INSERT INTO qcedge_schema(version) VALUES (%s)", (v,))
    if version < target and version:
        log.info("central store %s migrated from schema version %d to %d", where, version, target)
    return version
