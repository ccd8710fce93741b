"""Record identity: which screens have already given a record.

Rule (documented in docs/station.md, "Record identity"):
- a record's identity is its template and identity fields (all fields when the
  template names none);
- a new record is made when an identity is new, or when its values differ from
  the last record made for that identity;
- the same identity with the same values shown again (the screen stays up, or
  comes back after another screen) gives no new record while it is remembered
  (`repeat_window` seconds after it was last seen);
- record ids are derived (UUID5) from station, identity, values and how many
  records that identity already gave, so a daemon killed after committing a
  record but before remembering it makes the SAME record id again on restart,
  and central's de-duplication by (station, record id) stores it once.

The memory is a small SQLite file beside the outbox, so it survives restarts.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from qcedge.errors import QcedgeError

_NS = uuid.UUID("6f1c7d2e-3b0a-4c55-9a59-0f3e1f7d9a10")

SCHEMA_VERSION = 2  # PRAGMA user_version of a file this code made or migrated (a file with none is version 1)
_SCHEMA_1 = ("CREATE TABLE IF NOT EXISTS seen (identity TEXT PRIMARY KEY, values_digest TEXT NOT NULL,"
             " versions INTEGER NOT NULL, last_seen REAL NOT NULL)")
_MIGRATIONS = {
    # forget_older_than() (run at every start) finds old entries without reading the whole table
    1: ("CREATE INDEX IF NOT EXISTS seen_last_seen ON seen(last_seen)",),
}


class SeenSchemaError(QcedgeError, ValueError):
    """A remembered-screens file this code cannot use (a newer schema); one line, naming the file."""


@dataclass(frozen=True, slots=True)
class Decision:
    new: bool
    record_id: str | None
    reason: str  # "new", "changed", "repeat"


class SeenScreens:
    """Remembers the last values per identity, in SQLite (WAL)."""

    def __init__(self, path: str | Path, station: str, window: float = 12 * 3600.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.station = station
        self.window = window
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        """Create the table, or bring an older file up to SCHEMA_VERSION (one transaction); refuse a newer one."""
        db = self._db
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise SeenSchemaError(f"{self.path}: not a qcedge remembered-screens file ({exc})") from None
        if version > SCHEMA_VERSION:
            raise SeenSchemaError(f"{self.path}: remembered-screens schema {version} is newer than this qcedge "
                                  f"understands ({SCHEMA_VERSION}): run the qcedge that wrote it, or a newer one "
                                  f"(the file is left as it is)")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if version == SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(_SCHEMA_1)  # version 1 (files before versioning have it already, with user_version 0)
            for step in range(max(version, 1), SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def decide(self, identity: str, values_digest: str, now: float | None = None) -> Decision:
        """Whether this reading makes a new record, and its id if so. Does not remember it yet."""
        now = time.time() if now is None else now
        row = self._db.execute("SELECT values_digest, versions, last_seen FROM seen WHERE identity=?", (identity,)).fetchone()
        if row is None:
            return Decision(True, self._record_id(identity, values_digest, 0), "new")
        digest, versions, last_seen = row
        if digest == values_digest and now - last_seen <= self.window:
            return Decision(False, None, "repeat")
        reason = "changed" if digest != values_digest else "new"
        return Decision(True, self._record_id(identity, values_digest, versions), reason)

    def remember(self, identity: str, values_digest: str, made_record: bool, now: float | None = None) -> None:
        """Remember what was seen (call after the record is committed to the outbox)."""
        now = time.time() if now is None else now
        if made_record:
            self._db.execute(
                "INSERT INTO seen(identity, values_digest, versions, last_seen) VALUES (?,?,1,?)"
                " ON CONFLICT(identity) DO UPDATE SET values_digest=excluded.values_digest,"
                " versions=versions+1, last_seen=excluded.last_seen",
                (identity, values_digest, now),
            )
        else:
            self._db.execute("UPDATE seen SET last_seen=? WHERE identity=?", (now, identity))

    def forget_older_than(self, seconds: float, now: float | None = None) -> int:
        """Drop identities not seen for `seconds` (keeps the file small over months)."""
        now = time.time() if now is None else now
        cur = self._db.execute("DELETE FROM seen WHERE last_seen < ?", (now - seconds,))
        return cur.rowcount

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0]

    def _record_id(self, identity: str, values_digest: str, versions: int) -> str:
        return str(uuid.uuid5(_NS, f"{self.station}|{identity}|{values_digest}|{versions}"))

    def close(self) -> None:
        self._db.close()
