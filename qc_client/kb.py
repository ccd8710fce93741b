"""Knowledge-base releases: the model both sides share, and the station's side of fetching them.

A release is a bundle (an uncompressed tar) of

    manifest.json   schema qcedge.kb/1: version, created, who, targets, the SHA-256 and size of every file
    manifest.sig    the Ed25519 signature of manifest.json's bytes (central's signing key)
    templates/...   template packs (one folder of qcedge.template/1 files with their reference images)
    rules.yaml      the layered rule set (qcedge.rules/1), optional
    ...             anything else the manifest lists (self-test frames)

Stations hold only the public key: `verify_release` checks the signature, then that every listed
file is there with its hash and size and that nothing else is. Central signs (central/kb.py).
`KbAgent` runs the station's side over the feed: it fetches an offered release in bounded chunks
(resumable), verifies, stages, validates (a callback: templates load and match their references,
rules parse), applies (a callback: the daemon swaps its reader between frames) and records the
switch atomically in `ReleaseStore`, keeping the previous release for rollback. docs/kb.md.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import queue
import shutil
import tarfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Protocol

log = logging.getLogger(__name__)

SCHEMA = "qcedge.kb/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MAX_RELEASE_BYTES = 64 * 1024 * 1024  # a bundle larger than this is refused
MAX_FILES = 5000
CHUNK_BYTES = 256 * 1024  # what a station asks for at a time (central serves at most CHUNK_MAX)
CHUNK_MAX = 512 * 1024
STALL_SECONDS = 10.0  # a chunk not answered within this is asked for again


class KbError(ValueError):
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


# ---- the station's store ------------------------------------------------------------------------
@dataclass
class KbState:
    current: int | None = None
    previous: int | None = None
    applied_at: str | None = None
    refused: int | None = None
    refused_sha: str | None = None
    refused_reason: str | None = None


class ReleaseStore:
    """Releases on a station: `releases/<version>/` verified folders, `state.json` (written atomically)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        (self.root / "releases").mkdir(parents=True, exist_ok=True)
        (self.root / "incoming").mkdir(exist_ok=True)
        self._lock = threading.Lock()
        for left in (self.root / "incoming").glob("staging-*"):  # a crash while staging: never half-used
            shutil.rmtree(left, ignore_errors=True)

    def state(self) -> KbState:
        try:
            data = json.loads((self.root / "state.json").read_text(encoding="utf-8"))
            return KbState(**{k: v for k, v in data.items() if k in KbState.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return KbState()

    def _write(self, state: KbState) -> None:
        tmp = self.root / "state.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(vars(state), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "state.json")

    def path(self, version: int) -> Path:
        return self.root / "releases" / str(int(version))

    def has(self, version: int) -> bool:
        return (self.path(version) / MANIFEST).is_file()

    def current_path(self) -> Path | None:
        v = self.state().current
        return self.path(v) if v is not None and self.has(v) else None

    def stage(self, bundle: Path, public_key: Any, max_bytes: int = MAX_RELEASE_BYTES) -> tuple[Manifest, Path]:
        """Unpack and verify a bundle into a staging folder; returns its manifest and folder."""
        staging = self.root / "incoming" / f"staging-{os.getpid()}-{time.monotonic_ns()}"
        try:
            unpack(bundle, staging, max_bytes)
            manifest = verify_release(staging, public_key)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return manifest, staging

    def place(self, manifest: Manifest, staging: Path) -> Path:
        """Move a verified staging folder to releases/<version> (not yet current)."""
        with self._lock:
            target = self.path(manifest.version)
            if manifest.version == self.state().current:
                raise KbError(f"release {manifest.version} is already the current one")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
            return target

    def activate(self, manifest: Manifest) -> None:
        """Make a placed, validated, applied release the current one (atomically; the previous one is kept)."""
        with self._lock:
            state = self.state()
            if state.current != manifest.version:
                state.previous = state.current
            state.current, state.applied_at = manifest.version, utc_now()
            if state.refused == manifest.version:
                state.refused = state.refused_sha = state.refused_reason = None
            self._write(state)
            keep = {state.current, state.previous}
            for old in (self.root / "releases").iterdir():
                if old.name.isdigit() and int(old.name) not in keep:
                    shutil.rmtree(old, ignore_errors=True)

    def fall_back(self, reason: str) -> None:
        """The current release is unusable on disk: the previous one becomes current (central offers the
        broken one again, so it is fetched anew) and the reason is reported."""
        with self._lock:
            state = self.state()
            broken = state.current
            state.current, state.previous, state.applied_at = state.previous, None, utc_now()
            state.refused, state.refused_sha, state.refused_reason = broken, None, reason
            self._write(state)
            if broken is not None:
                shutil.rmtree(self.path(broken), ignore_errors=True)

    def refuse(self, version: int, sha: str | None, reason: str) -> None:
        with self._lock:
            state = self.state()
            state.refused, state.refused_sha, state.refused_reason = version, sha, reason
            self._write(state)


# ---- what central offers (the receiver calls it; central/kb.py implements it) -------------------
class KbSource(Protocol):
    def offer(self, station: str, header: dict[str, Any]) -> dict[str, Any] | None:
        """Header fields (kb_version, kb_size, kb_sha256) offering the release this station should run."""

    def chunk(self, version: int, sha256: str, offset: int, length: int) -> tuple[bytes, int] | None:
        """Bytes of a published bundle from `offset` (at most `length`) and its total size; None if unknown."""

    def note(self, station: str, header: dict[str, Any]) -> None:
        """What a station reports in its heartbeat: kb_version, kb_applied_at, kb_refused, kb_refused_reason."""


# ---- the station's agent ------------------------------------------------------------------------
Validator = Callable[[Path, Manifest], None]  # raises KbError (or any exception) with the reason
Applier = Callable[[Path, Manifest], None]


class KbAgent:
    """Fetches, verifies, validates and applies releases offered in heartbeat answers.

    `on_offer` and `on_chunk` run in the feed client's I/O thread and only write bytes to a
    partial file; verification, validation and the switch run in the agent's own thread.
    `report_header()` is what every heartbeat carries; `wake` is called when it changed.
    """

    def __init__(self, store: ReleaseStore, public_key: Any, station: str, site: str | None = None, *,
                 validate: Validator | None = None, apply: Applier | None = None,
                 max_bytes: int = MAX_RELEASE_BYTES, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.store, self.public_key, self.station, self.site = store, public_key, station, site
        self.validate, self.apply = validate, apply
        self.max_bytes, self.chunk_bytes = max_bytes, min(chunk_bytes, CHUNK_MAX)
        self.wake: Callable[[], None] | None = None
        self._download: tuple[int, str, int] | None = None  # version, sha256, size
        self._requested_at = 0.0
        self._busy = False  # a bundle is being verified/applied
        self._jobs: queue.Queue[tuple[int, str, Path | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="kb-agent", daemon=True)
        self._thread.start()
        self.applied = threading.Event()  # set after each switch (tests, benchmarks)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(5)

    def report_header(self) -> dict[str, Any]:
        s = self.store.state()
        out: dict[str, Any] = {"kb_version": s.current, "kb_applied_at": s.applied_at}
        if s.refused is not None:
            out.update(kb_refused=s.refused, kb_refused_reason=(s.refused_reason or "")[:300])
        return out

    def _part(self, version: int, sha: str) -> Path:
        return self.store.root / "incoming" / f"{version}-{sha[:16]}.part"

    def on_offer(self, header: dict[str, Any]) -> dict[str, Any] | None:
        """A heartbeat answer from central; the header of a `kb_get` to send, or None."""
        version, size, sha = header.get("kb_version"), header.get("kb_size"), header.get("kb_sha256")
        if not (isinstance(version, int) and isinstance(size, int) and isinstance(sha, str)) or self._busy:
            return None
        state = self.store.state()
        if version == state.current or (version == state.refused and sha == state.refused_sha):
            return None
        if size > self.max_bytes or size <= 0:
            self._queue(version, sha, None, reason=f"release of {size} bytes exceeds the limit of {self.max_bytes}")
            return None
        if self.store.has(version):  # a rollback to the release kept on disk: no fetch
            self._busy = True
            self._jobs.put((version, sha, None))
            return None
        if self._download != (version, sha, size):
            self._download = (version, sha, size)
            self._requested_at = 0.0
            keep = self._part(version, sha).name
            for old in (self.store.root / "incoming").glob("*.part"):  # downloads central no longer offers
                if old.name != keep:
                    old.unlink(missing_ok=True)
        if time.monotonic() - self._requested_at < STALL_SECONDS:
            return None  # a chunk is on its way
        return self._request()

    def _request(self) -> dict[str, Any] | None:
        if self._download is None:
            return None
        version, sha, size = self._download
        part = self._part(version, sha)
        have = part.stat().st_size if part.exists() else 0
        self._requested_at = time.monotonic()
        return {"station": self.station, "version": version, "sha256": sha, "offset": have,
                "length": min(self.chunk_bytes, size - have)}

    def on_chunk(self, header: dict[str, Any], data: bytes) -> dict[str, Any] | None:
        """Bytes of the release being fetched; the next `kb_get` header, or None when done or stale."""
        if self._download is None:
            return None
        version, sha, size = self._download
        if header.get("version") != version or header.get("sha256") != sha:
            return None
        part = self._part(version, sha)
        have = part.stat().st_size if part.exists() else 0
        if not data:  # central no longer has it (rolled back, another release): the next offer decides
            self._download = None
            return None
        if header.get("offset") != have or have + len(data) > size:
            return None  # a stale or foreign answer: a request not answered is asked again after STALL_SECONDS
        with open(part, "ab") as f:
            f.write(data)
        if have + len(data) < size:
            return self._request()
        self._download = None
        self._busy = True
        self._jobs.put((version, sha, part))
        return None

    def _queue(self, version: int, sha: str, part: Path | None, reason: str) -> None:
        log.warning("knowledge-base release %s refused: %s", version, reason)
        self.store.refuse(version, sha, reason)
        if self.wake:
            self.wake()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            version, sha, part = job
            try:
                self._install(version, sha, part)
            except Exception as exc:  # noqa: BLE001 - a bad release never stops the station
                reason = str(exc) if isinstance(exc, KbError) else f"{type(exc).__name__}: {exc}"
                self._queue(version, sha, part, reason=reason[:300])
            finally:
                if part is not None:
                    part.unlink(missing_ok=True)
                self._busy = False
                if self.wake:
                    self.wake()

    def _install(self, version: int, sha: str, part: Path | None) -> None:
        staging: Path | None = None
        if part is not None:
            if sha256_file(part) != sha:
                raise KbError("release bundle does not match the SHA-256 central offered (truncated or altered)")
            manifest, staging = self.store.stage(part, self.public_key, self.max_bytes)
            folder = staging
        else:
            folder = self.store.path(version)
            manifest = verify_release(folder, self.public_key)
        placed = False
        try:
            if manifest.version != version:
                raise KbError(f"release offered as version {version} says it is version {manifest.version}")
            if not manifest.targets_station(self.station, self.site):
                raise KbError(f"release {version} does not target this station")
            if self.validate is not None:
                self.validate(folder, manifest)
            if staging is not None:
                folder = self.store.place(manifest, staging)
                staging, placed = None, True
            if self.apply is not None:
                self.apply(folder, manifest)
            self.store.activate(manifest)
        except BaseException:
            if placed and version != self.store.state().previous:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        log.info("knowledge-base release %s applied", version)
        self.applied.set()
