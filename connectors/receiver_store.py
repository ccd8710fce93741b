"""How the receiver keeps what it accepts: each object written durably (a temporary file,
fsync'd, given its name without replacing anything, the folder fsync'd) before the peer hears
Success; the same object sent again stored once, a changed one beside it; temporary files of a
receiver that died while writing removed."""
from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import pydicom

log = logging.getLogger("qcedge.connectors.receiver")


def variant_path(target: Path, data: bytes) -> Path:
    """Where a changed object under an already stored UID goes: `<uid>_<sha256 prefix>.dcm`.

    `_` never occurs in a UID (digits and dots only), so a variant can never take the name of
    another object (`<uid>.1.dcm` would be the real UID `<uid>.1`); the content hash makes the
    name the same for the same bytes, so a variant sent twice is stored once.
    """
    return target.with_name(f"{target.stem}_{hashlib.sha256(data).hexdigest()[:32]}.dcm")


def uid_of_stored(path: Path) -> str:
    """The SOP Instance UID (or its stand-in) a stored file's name carries."""
    return path.stem.split("_", 1)[0]


_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
_FALLBACK_LOCK = threading.Lock()


def _place(tmp: Path, target: Path) -> None:
    """Give the written temporary file the name `target`, never replacing an existing file.

    A hard link does that atomically (FileExistsError if the name is taken), between threads
    and processes alike. On a file system without hard links: check and rename under a
    process-wide lock (safe within this process only)."""
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    with _FALLBACK_LOCK:
        if target.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(target))
        os.rename(tmp, target)


def _essential(ds: Any) -> Any:
    """The dataset without what senders may drop: group lengths and trailing padding."""
    for tag in [t for t in ds.keys() if t.element == 0 or t == 0xFFFCFFFC]:
        del ds[tag]
    return ds


def same_object(path: Path, data: bytes) -> bool:
    """True when the file at `path` holds the object in `data`: the same bytes, or the same
    elements and values written another way (senders differ in group lengths and padding)."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = _essential(pydicom.dcmread(io.BytesIO(path.read_bytes()), force=True))
            b = _essential(pydicom.dcmread(io.BytesIO(data), force=True))
            return bool(a == b)
    except FileNotFoundError:
        return False
    except Exception:  # an object that cannot be parsed is compared by its bytes only
        return False


def _versions(target: Path) -> list[Path]:
    """The object stored under `target` and its variants (only when `target` exists)."""
    if not target.exists():
        return []
    return [target, *sorted(target.parent.glob(f"{target.stem}_*.dcm"))]


_LOCKS = [threading.Lock() for _ in range(64)]


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_durably(target: Path, data: bytes) -> tuple[Path, bool]:
    """Write `data` under `target` (fsync'd, atomic, never overwriting); (path, True if those
    bytes were already stored).

    The bytes go to a private temporary file first (fsync'd), which then gets its final name
    without replacing anything (`_place`; one writer per UID at a time in this process, and the
    hard link settles races with other processes): two callers storing the same UID at the same
    time cannot overwrite each other. The same object (`same_object`: same bytes, or the same
    elements encoded another way) is a duplicate: stored and processed once. A changed object
    sent again is stored beside it as `variant_path()`. The folder is fsync'd before the caller
    answers Success.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with _LOCKS[hash(target.name) % len(_LOCKS)]:  # one writer per UID in this process
            for existing in _versions(target):
                if same_object(existing, data):
                    _fsync_dir(target.parent)  # its writer may not have synced the folder yet
                    return existing, True
            for candidate in (target, variant_path(target, data)):
                try:
                    _place(tmp, candidate)
                except FileExistsError:  # another process stored this name in the meantime
                    if same_object(candidate, data):
                        _fsync_dir(target.parent)
                        return candidate, True
                    continue
                _fsync_dir(target.parent)
                return candidate, False
        raise OSError(errno.EEXIST, "a different object already has the variant name (hash collision)",
                      str(variant_path(target, data)))
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_parts(day: Path) -> int:
    """Delete temporary files left by a receiver process that died while writing (they may hold
    patient data and were never acknowledged). Files of live processes are left alone."""
    removed = 0
    for part in day.glob(".*.part"):
        pieces = part.name.rsplit(".", 3)
        try:
            pid = int(pieces[-3])
        except (IndexError, ValueError):
            pid = -1
        if pid > 0 and pid != os.getpid() and _alive(pid):
            continue
        try:
            part.unlink()
            removed += 1
        except OSError as exc:
            log.error("cannot remove the stale temporary file %s: %s", part.name, exc)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
