"""Temporary folders of the teaching window: named by process, removed on close, stale ones removed at start.

Frames hold patient data (names, IDs); nothing of them may outlive the window in the temp directory.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

PREFIXES = ("qcedge-teach-", "qcedge-flow-")
_OWNED = re.compile(r"^(?:%s)(\d+)-" % "|".join(re.escape(p) for p in PREFIXES))


def make_temp(prefix: str = "qcedge-teach-") -> Path:
    """A private temporary folder whose name carries this process's id (so a later start knows it is stale)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: str | Path | None = None, grace: float = 60.0) -> list[Path]:
    """Remove the teaching window's temporary folders left by a process that is gone (a crash).

    Folders of a running process are kept; older unnamed ones (from earlier versions) are removed
    once they are `grace` seconds old. Returns what was removed.
    """
    root = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for p in entries:
        if not p.is_dir() or not p.name.startswith(PREFIXES):
            continue
        m = _OWNED.match(p.name)
        if m is not None:
            if int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
                continue
        else:
            try:
                if time.time() - p.stat().st_mtime < grace:
                    continue
            except OSError:
                continue
        shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            removed.append(p)
    if removed:
        log.info("removed %d stale temporary folder(s) of the teaching window", len(removed))
    return removed
