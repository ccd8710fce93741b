"""The knowledge-base releases a station runs (docs/kb.md): the one to start with, and the agent that
takes new ones from central while the daemon runs."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qcedge.config import ConfigError, StationConfig

log = logging.getLogger(__name__)


class StationKb:
    """A station's release store, its signing key and the feed agent, from the `[kb]` section."""

    def __init__(self, config: StationConfig) -> None:
        self.config = config
        self.store: Any = None
        self.key: Any = None
        self.agent: Any = None

    def current(self) -> tuple[Path | None, Any, int | None]:
        """The release to run: its folder (if it has templates), its rules and its version; the current
        release, or the previous one when the current no longer verifies on disk; (None, None, None)
        without `[kb]` or without a usable release."""
        from qcedge.kb import load_release_rules, load_release_templates, template_folders
        from qcedge.qc_client.kb import KbError, ReleaseStore, load_public_key, verify_release

        kb = self.config.kb
        if kb is None:
            return None, None, None
        try:
            self.key = load_public_key(kb.public_key)
        except KbError as exc:
            raise ConfigError(f"{self.config.path}: [kb] public_key: {exc}") from None
        store = self.store = ReleaseStore(kb.folder)
        state = store.state()
        for version in (state.current, state.previous):
            if version is None or not store.has(version):
                continue
            folder = store.path(version)
            try:
                verify_release(folder, self.key)
                rules = load_release_rules(folder)
                if template_folders(folder):
                    load_release_templates(folder)
            except Exception as exc:  # noqa: BLE001 - fall back, say why
                log.error("knowledge-base release %s on disk is unusable (%s): not run", version, exc)
                if version == state.current:
                    store.fall_back(f"release {version} on disk no longer usable: {exc}"[:300])
                continue
            return (folder if template_folders(folder) else None), rules, version
        return None, None, None

    def make_agent(self, apply: Callable[[Path, Any], None]) -> Any:
        """The feed's knowledge-base agent (None without `[kb]`); `apply(folder, manifest)` runs a new release."""
        from qcedge.kb import validate_release
        from qcedge.qc_client.kb import KbAgent

        kb = self.config.kb
        if kb is None:
            return None
        validate = validate_release if kb.validate_templates else None
        self.agent = KbAgent(self.store, self.key, self.config.station.id, self.config.station.site,
                             validate=validate, apply=apply, max_bytes=kb.max_bytes)
        return self.agent

