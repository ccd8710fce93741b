"""Central's side of knowledge-base releases: keys, build + sign, publish, rollback, status, and what
the receiver offers and serves to stations (`KbCentral`, a `qc_client.kb.KbSource`).

Central's KB folder (`--kb DIR`):

    kb.sqlite            published releases, publish/rollback history, what each station runs/refused
    releases/<v>.tar     published bundles (verified with kb.pub before they are taken)
    kb.pub               the public key stations hold (the signing key stays elsewhere, owner-only)

See docs/kb.md.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from qcedge.qc_client.kb_release import (CHUNK_MAX, MANIFEST, SIGNATURE, KbError, Manifest, load_public_key, pack,
                                         sha256_file, unpack, utc_now, verify_release)
from qcedge.qc_client.rules import RulesError, load_rules

log = logging.getLogger(__name__)

SECRET_NAME, PUBLIC_NAME = "kb.ed25519", "kb.pub"


# ---- keys ---------------------------------------------------------------------------------------
def generate_signing_key(folder: str | os.PathLike, name: str = "kb") -> tuple[Path, Path]:
    """Write NAME.ed25519 (the signing key, mode 0600, folder 0700) and NAME.pub (for stations)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    secret, public = folder / f"{name}.ed25519", folder / f"{name}.pub"
    if secret.exists():
        raise KbError(f"{secret} exists: move it away to make a new key (see docs/kb.md, rotation)")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return secret, public


def load_signing_key(path: str | os.PathLike) -> Any:
    """The Ed25519 signing key; refused when others than its owner may read it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = Path(path)
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise KbError(f"{path}: cannot read the signing key ({exc.strerror})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KbError(f"{path}: the signing key is readable by others (chmod 600 it)")
    try:
        key = load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise KbError(f"{path}: not a readable signing key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KbError(f"{path}: not an Ed25519 signing key")
    return key


# ---- build --------------------------------------------------------------------------------------
def _files_of(source: Path) -> list[Path]:
    files = sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [p for p in files if p.name not in (MANIFEST, SIGNATURE)]


def build_release(source: str | os.PathLike, out: str | os.PathLike, key_path: str | os.PathLike, *,
                  version: int, who: str, targets: dict[str, list[str]] | None = None, note: str = "",
                  validate: Callable[[Path, Manifest], None] | None = None) -> Path:
    """Sign the folder `source` (templates/ and rules.yaml at least one) into the bundle `out`.

    The rules are parsed and `validate` (e.g. templates against their references) is run on the
    staged release before it is signed. Returns the bundle's path.
    """
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise KbError(f"{source}: not a folder")
    if not (source / "templates").is_dir() and not (source / "rules.yaml").is_file():
        raise KbError(f"{source}: a release needs templates/ or rules.yaml")
    if (source / "rules.yaml").is_file():
        try:
            load_rules(source / "rules.yaml")
        except RulesError as exc:
            raise KbError(str(exc)) from None
    key = load_signing_key(key_path)
    with tempfile.TemporaryDirectory(prefix="kb-build-") as tmp:
        stage = Path(tmp) / "release"
        stage.mkdir()
        files: dict[str, dict[str, Any]] = {}
        for path in _files_of(source):
            rel = path.relative_to(source).as_posix()
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, stage / rel)
            files[rel] = {"sha256": sha256_file(stage / rel), "size": (stage / rel).stat().st_size}
        manifest = Manifest(version=version, created=utc_now(), who=who, files=files,
                            targets={k: v for k, v in (targets or {}).items() if v}, note=note)
        Manifest.parse(manifest.as_json())  # the same checks a station makes
        raw = manifest.as_json()
        (stage / MANIFEST).write_bytes(raw)
        (stage / SIGNATURE).write_bytes(key.sign(raw))
        if validate is not None:
            validate(stage, manifest)
        out.parent.mkdir(parents=True, exist_ok=True)
        return pack(stage, out)


def read_bundle(bundle: str | os.PathLike, public_key: Any) -> Manifest:
    """Unpack a bundle to a temporary folder and verify it; its manifest."""
    with tempfile.TemporaryDirectory(prefix="kb-check-") as tmp:
        unpack(bundle, Path(tmp) / "r")
        return verify_release(Path(tmp) / "r", public_key)


# ---- central's store ----------------------------------------------------------------------------
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS kb_releases (version INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    created TEXT, who TEXT, targets TEXT, note TEXT, published_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kb_history (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL,
    action TEXT NOT NULL, who TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kb_applied (station TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kb_stations (station TEXT PRIMARY KEY, version INTEGER, applied_at TEXT,
    refused INTEGER, refused_reason TEXT, seen_at TEXT);
"""


class StationReport(NamedTuple):
    """What a station's heartbeat says of its knowledge base (None where it says nothing valid)."""

    version: int | None
    applied_at: str | None
    refused: int | None
    refused_reason: str | None


class Noted(NamedTuple):
    """A station's last report and when central wrote it down (monotonic)."""

    report: StationReport
    at: float


@dataclass
class StationKb:
    station: str
    version: int | None
    applied_at: str | None
    refused: int | None
    refused_reason: str | None
    seen_at: str | None


class KbCentral:
    """Central's KB folder; also the receiver's `KbSource` (offers, chunks, station reports)."""

    def __init__(self, root: str | os.PathLike, public_key_path: str | os.PathLike | None = None,
                 recheck: float = 0.5) -> None:
        self.root = Path(root)
        (self.root / "releases").mkdir(parents=True, exist_ok=True)
        self.public_key_path = Path(public_key_path) if public_key_path else self.root / PUBLIC_NAME
        self._db = sqlite3.connect(self.root / "kb.sqlite", check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA_SQL)
        self._lock = threading.Lock()
        self.recheck = recheck
        self._current: tuple[float, dict[str, Any] | None] = (0.0, None)
        self._noted: dict[str, Noted] = {}

    def close(self) -> None:
        self._db.close()

    # -- commands --
    def publish(self, bundle: str | os.PathLike, who: str) -> Manifest:
        """Verify a bundle with kb.pub, keep it and make it the current release."""
        if not self.public_key_path.is_file():
            raise KbError(f"{self.public_key_path}: no public key (copy kb.pub from the key folder)")
        manifest = read_bundle(bundle, load_public_key(self.public_key_path))
        with self._lock, self._db:
            row = self._db.execute("SELECT sha256 FROM kb_releases WHERE version=?", (manifest.version,)).fetchone()
            sha = sha256_file(Path(bundle))
            if row is not None and row[0] != sha:
                raise KbError(f"version {manifest.version} was published before with other content: build a new version")
            target = self.root / "releases" / f"{manifest.version}.tar"
            if row is None:
                tmp = target.with_suffix(".tmp")
                shutil.copyfile(bundle, tmp)
                os.replace(tmp, target)
                self._db.execute("INSERT INTO kb_releases VALUES (?,?,?,?,?,?,?,?)",
                                 (manifest.version, sha, target.stat().st_size, manifest.created, manifest.who,
                                  json.dumps(manifest.targets), manifest.note, utc_now()))
            self._db.execute("INSERT INTO kb_history (version, action, who, at) VALUES (?,?,?,?)",
                             (manifest.version, "publish", who, utc_now()))
        self._current = (0.0, None)
        return manifest

    def rollback(self, who: str, to: int | None = None) -> int:
        """Make the release published before the current one (or `to`) current again; its version."""
        with self._lock, self._db:
            history = [r[0] for r in self._db.execute("SELECT version FROM kb_history ORDER BY id")]
            if not history:
                raise KbError("nothing published yet")
            current = history[-1]
            if to is None:
                earlier = list(dict.fromkeys(v for v in reversed(history) if v != current))
                if not earlier:
                    raise KbError(f"release {current} is the only one published: nothing to roll back to")
                ran = {r[0] for r in self._db.execute("SELECT DISTINCT version FROM kb_applied")}
                # the latest earlier release stations ran (not one they refused), else the one before
                to = next((v for v in earlier if v in ran), earlier[0])
            elif self._db.execute("SELECT 1 FROM kb_releases WHERE version=?", (to,)).fetchone() is None:
                raise KbError(f"release {to} was never published")
            self._db.execute("INSERT INTO kb_history (version, action, who, at) VALUES (?,?,?,?)",
                             (to, "rollback", who, utc_now()))
        self._current = (0.0, None)
        return to

    def current(self) -> dict[str, Any] | None:
        """The current release (version, sha256, size, targets), re-read at most every `recheck` seconds."""
        at, cur = self._current
        if time.monotonic() - at < self.recheck:
            return cur
        with self._lock:
            row = self._db.execute("SELECT r.version, r.sha256, r.size, r.targets FROM kb_history h JOIN kb_releases r "
                                   "ON r.version = h.version ORDER BY h.id DESC LIMIT 1").fetchone()
        cur = None if row is None else {"version": row[0], "sha256": row[1], "size": row[2],
                                        "targets": json.loads(row[3] or "{}")}
        self._current = (time.monotonic(), cur)
        return cur

    def history(self) -> list[tuple[int, str, str, str]]:
        with self._lock:
            return list(self._db.execute("SELECT version, action, who, at FROM kb_history ORDER BY id"))

    def status(self) -> list[StationKb]:
        with self._lock:
            rows = self._db.execute("SELECT station, version, applied_at, refused, refused_reason, seen_at "
                                    "FROM kb_stations ORDER BY station").fetchall()
        return [StationKb(*r) for r in rows]

    # -- KbSource --
    def offer(self, station: str, header: dict[str, Any]) -> dict[str, Any] | None:
        cur = self.current()
        if cur is None:
            return None
        site = header.get("site") if isinstance(header.get("site"), str) else None
        if not Manifest(version=cur["version"], created="", who="", files={}, targets=cur["targets"]) \
                .targets_station(station, site):
            return None
        return {"kb_version": cur["version"], "kb_size": cur["size"], "kb_sha256": cur["sha256"]}

    def chunk(self, version: int, sha256: str, offset: int, length: int) -> tuple[bytes, int] | None:
        path = self.root / "releases" / f"{int(version)}.tar"
        cur = self.current()
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                f.seek(max(0, offset))
                data = f.read(max(0, min(length, CHUNK_MAX)))
        except OSError:
            return None
        if cur is not None and cur["version"] == version and cur["sha256"] != sha256:
            return None
        return data, size

    def note(self, station: str, header: dict[str, Any]) -> None:
        def num(v: Any) -> int | None:
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        def text(v: Any) -> str | None:
            return v[:300] if isinstance(v, str) else None

        row = StationReport(num(header.get("kb_version")), text(header.get("kb_applied_at")),
                            num(header.get("kb_refused")), text(header.get("kb_refused_reason")))
        last = self._noted.get(station)
        if last is not None and last.report == row and time.monotonic() - last.at < 60:
            return  # unchanged: the store is written on change (and once a minute for seen_at)
        if row.refused is not None and (last is None or (last.report.refused, last.report.refused_reason)
                                        != (row.refused, row.refused_reason)):
            log.warning("station %s refused knowledge-base release %s: %s", station, row.refused, row.refused_reason)
        self._noted[station] = Noted(row, time.monotonic())
        with self._lock, self._db:
            if row.version is not None and (last is None or last.report.version != row.version):
                self._db.execute("INSERT INTO kb_applied VALUES (?,?,?)",
                                 (station, row.version, row.applied_at or utc_now()))
            self._db.execute("INSERT INTO kb_stations VALUES (?,?,?,?,?,?) ON CONFLICT(station) DO UPDATE SET "
                             "version=excluded.version, applied_at=excluded.applied_at, refused=excluded.refused, "
                             "refused_reason=excluded.refused_reason, seen_at=excluded.seen_at",
                             (station, *row, utc_now()))


def parse_targets(items: Iterable[str]) -> dict[str, list[str]]:
    """`site=A,B` `station=ct-*` `modality=CT` -> targets."""
    out: dict[str, list[str]] = {}
    names = {"site": "sites", "sites": "sites", "station": "stations", "stations": "stations",
             "modality": "modalities", "modalities": "modalities"}
    for item in items:
        key, _, value = item.partition("=")
        if key.strip() not in names or not value.strip():
            raise KbError(f"target {item!r}: use site=..., station=... or modality=... (comma-separated, globs)")
        out.setdefault(names[key.strip()], []).extend(v.strip() for v in value.split(",") if v.strip())
    return out
