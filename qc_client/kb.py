"""Knowledge-base releases: the model both sides share, and the station's side of fetching them.

One name for what three modules hold (docs/kb.md):
    qc_client.kb_release   what a release is: manifest, signature, bundle (pack, unpack, verify)
    qc_client.kb_store     the station's releases on disk (ReleaseStore, KbState)
    qc_client.kb_agent     the station's fetch over the feed (KbAgent) and what central offers (KbSource)
"""
from __future__ import annotations

from qcedge.qc_client.kb_agent import STALL_SECONDS, Applier, KbAgent, KbSource, Validator
from qcedge.qc_client.kb_release import (CHUNK_BYTES, CHUNK_MAX, MANIFEST, MAX_FILES, MAX_RELEASE_BYTES, SCHEMA,
                                         SIGNATURE, KbError, Manifest, load_public_key, pack, sha256_file, unpack,
                                         utc_now, verify_release, verify_signature)
from qcedge.qc_client.kb_store import KbState, ReleaseStore

__all__ = ["SCHEMA", "MANIFEST", "SIGNATURE", "MAX_RELEASE_BYTES", "MAX_FILES", "CHUNK_BYTES", "CHUNK_MAX",
           "STALL_SECONDS", "KbError", "Manifest", "sha256_file", "utc_now", "load_public_key", "verify_signature",
           "verify_release", "pack", "unpack", "KbState", "ReleaseStore", "KbSource", "Validator", "Applier",
           "KbAgent"]
