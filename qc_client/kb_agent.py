"""The station's side of knowledge-base releases over the feed (`KbAgent`), and what central offers (`KbSource`).

`KbAgent` fetches an offered release in bounded chunks (resumable), verifies, stages, validates
(a callback: templates load and match their references, rules parse), applies (a callback: the
daemon swaps its reader between frames) and records the switch atomically in `ReleaseStore`,
keeping the previous release for rollback. docs/kb.md.
"""
from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Protocol

from qcedge.qc_client.kb_release import (CHUNK_BYTES, CHUNK_MAX, MAX_RELEASE_BYTES, KbError, Manifest, sha256_file,
                                         verify_release)
from qcedge.qc_client.kb_store import ReleaseStore

log = logging.getLogger(__name__)

STALL_SECONDS = 10.0  # a chunk not answered within this is asked for again


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
