"""Knowledge-base releases: what a release is, for both sides (the station checks, central signs).

A release is a bundle (an uncompressed tar) of

    manifest.json   schema qcedge.kb/1: version, created, who, targets, the SHA-256 and size of every file
    manifest.sig    the Ed25519 signature of manifest.json's bytes (central's signing key)
    templates/...   template packs (one folder of qcedge.template/1 files with their reference images)
    rules.yaml      the layered rule set (qcedge.rules/1), optional
    ...             anything else the manifest lists (self-test frames)

Stations hold only the public key: `verify_release` checks the signature, then that every listed
file is there with its hash and size and that nothing else is. Central signs (central/kb.py).
The station keeps its releases in qc_client.kb_store and fetches them with qc_client.kb_agent. docs/kb.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from qcedge.qc_client.errors import QcClientError

SCHEMA = "qcedge.kb/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MAX_RELEASE_BYTES = 64 * 1024 * 1024  # a bundle larger than this is refused
MAX_FILES = 5000
CHUNK_BYTES = 256 * 1024  # what a station asks for at a time (central serves at most CHUNK_MAX)
CHUNK_MAX = 512 * 1024


class KbError(QcClientError, ValueError):
    """A release that cannot be used; the text is the reason reported to central."""


@dataclass
class Manifest:
    version: int
    created: str
    who: str
    files: dict[str, dict[str, Any]]
    targets: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""
    schema: str = SCHEMA

    def as_json(self) -> bytes:
        return json.dumps({"schema": self.schema, "version": self.version, "created": self.created, "who": self.who,
                           "note": self.note, "targets": self.targets, "files": self.files},
                          ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")

    @classmethod
    def parse(cls, raw: bytes) -> "Manifest":
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KbError(f"manifest is not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise KbError(f"manifest is not {SCHEMA}")
        version, files, targets = data.get("version"), data.get("files"), data.get("targets") or {}
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise KbError("manifest version must be an integer >= 1")
        if not isinstance(files, dict) or not files or len(files) > MAX_FILES:
            raise KbError(f"manifest must list 1..{MAX_FILES} files")
        for name, meta in files.items():
            _check_name(name)
            if not (isinstance(meta, dict) and isinstance(meta.get("sha256"), str) and isinstance(meta.get("size"), int)):
                raise KbError(f"manifest entry {name[:80]!r} lacks sha256 and size")
        if not isinstance(targets, dict) or any(
                k not in ("sites", "stations", "modalities") or not isinstance(v, list)
                or not all(isinstance(x, str) for x in v) for k, v in targets.items()):
            raise KbError("manifest targets must be lists of sites, stations, modalities")
        return cls(version=version, created=str(data.get("created", "")), who=str(data.get("who", "")),
                   files=files, targets=targets, note=str(data.get("note", "")))

    def targets_station(self, station: str, site: str | None = None) -> bool:
        """True if the release is meant for this station (no targets: every station)."""
        stations, sites = self.targets.get("stations"), self.targets.get("sites")
        if stations and not any(fnmatchcase(station, p) for p in stations):
            return False
        if sites and (site is None or not any(fnmatchcase(site, p) for p in sites)):
            return False
        return True


def _check_name(name: str) -> None:
    p = PurePosixPath(name)
    if not name or p.is_absolute() or ".." in p.parts or "\\" in name or name in (MANIFEST, SIGNATURE) \
            or any(not c.isprintable() for c in name) or len(name) > 300:
        raise KbError(f"unsafe file name in release ({len(name)} characters)")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---- keys (verification only; signing lives at central) ------------------------------------------
def load_public_key(path: str | os.PathLike) -> Any:
    """An Ed25519 public key from a PEM file (`qcedge kb keys` writes kb.pub)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise KbError(f"{path}: not a readable public key ({type(exc).__name__})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KbError(f"{path}: not an Ed25519 public key")
    return key


def verify_signature(public_key: Any, manifest_raw: bytes, signature: bytes) -> None:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, manifest_raw)
    except InvalidSignature:
        raise KbError("signature does not verify with the station's public key") from None


def verify_release(folder: str | os.PathLike, public_key: Any) -> Manifest:
    """Check an unpacked release: signature first, then every file's size and SHA-256, nothing unlisted."""
    folder = Path(folder)
    try:
        raw = (folder / MANIFEST).read_bytes()
    except OSError:
        raise KbError("release has no manifest.json") from None
    try:
        sig = (folder / SIGNATURE).read_bytes()
    except OSError:
        raise KbError("release is unsigned (no manifest.sig)") from None
    verify_signature(public_key, raw, sig)
    manifest = Manifest.parse(raw)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    present -= {MANIFEST, SIGNATURE}
    for name, meta in sorted(manifest.files.items()):
        path = folder / name
        if name not in present or path.is_symlink():
            raise KbError(f"file {name} listed in the manifest is missing")
        if path.stat().st_size != meta["size"]:
            raise KbError(f"file {name} has {path.stat().st_size} bytes, the manifest says {meta['size']}")
        if sha256_file(path) != meta["sha256"]:
            raise KbError(f"file {name} does not match its SHA-256 in the manifest")
    extra = sorted(present - set(manifest.files))
    if extra:
        raise KbError(f"file {extra[0]} is not listed in the manifest")
    return manifest


# ---- bundles ------------------------------------------------------------------------------------
def pack(folder: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """A deterministic tar of a release folder (sorted names, no owners, fixed times)."""
    folder, dest = Path(folder), Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mode, info.mtime = path.stat().st_size, 0o644, 0
            with open(path, "rb") as f:
                tar.addfile(info, f)
    os.replace(tmp, dest)
    return dest


def unpack(bundle: str | os.PathLike, dest: str | os.PathLike, max_bytes: int = MAX_RELEASE_BYTES) -> None:
    """Extract a bundle into an empty folder: regular files only, no absolute or `..` names, bounded size."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    total = 0
    try:
        with tarfile.open(bundle, "r:") as tar:
            members = tar.getmembers()
            if len(members) > MAX_FILES + 2:
                raise KbError(f"release holds more than {MAX_FILES} files")
            for m in members:
                if m.isdir():
                    continue
                if not m.isfile():
                    raise KbError("release holds a link or a special file")
                if m.name not in (MANIFEST, SIGNATURE):
                    _check_name(m.name)
                total += m.size
                if total > max_bytes:
                    raise KbError(f"release unpacks to more than {max_bytes} bytes")
                target = dest / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                with open(target, "xb") as out:
                    shutil.copyfileobj(src, out)
    except (tarfile.TarError, EOFError) as exc:
        raise KbError(f"release is not a readable bundle ({type(exc).__name__})") from None
    except FileExistsError:
        raise KbError("release names one file twice") from None
