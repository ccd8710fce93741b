"""The station's knowledge-base releases on disk: verified folders and the state of which one runs."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qcedge.qc_client.kb_release import (MANIFEST, MAX_RELEASE_BYTES, KbError, Manifest, unpack, utc_now,
                                         verify_release)


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
