"""CURVE key files for the feed: generate, load, allow-lists.

Files use ZeroMQ's certificate format (zmq.auth): `NAME.key` holds the public
key, `NAME.key_secret` the public and secret key and is written owner-only
(0600). A folder of `*.key` files is an allow-list; each file's name (without
`.key`) is the name the key authenticates as (a station id).
"""
from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import zmq
import zmq.auth

from qcedge.qc_client.errors import QcClientError

log = logging.getLogger(__name__)


class KeyFileError(QcClientError, ValueError):
    """A key file that is missing, malformed or unsafe."""


_BANNER = "#   ****  Generated {when} by qcedge keys generate  ****\n#   ZeroMQ CURVE {what}\n#   {note}\n\n"


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)  # also when the file already existed with wider rights


def generate_keypair(directory: str | os.PathLike, name: str, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write NAME.key (public, 0644) and NAME.key_secret (0600) in `directory`.

    Returns (public path, secret path). Refuses to overwrite unless asked.
    """
    if not name or "/" in name or name.startswith("."):
        raise KeyFileError(f"bad key name {name!r}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    public_path, secret_path = folder / f"{name}.key", folder / f"{name}.key_secret"
    for p in (public_path, secret_path):
        if p.exists() and not overwrite:
            raise KeyFileError(f"{p} exists already (use --force to replace it)")
    public, secret = zmq.curve_keypair()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body_public = f'metadata\n    name = "{name}"\ncurve\n    public-key = "{public.decode()}"\n'
    _write(public_path, _BANNER.format(when=when, what="public key", note="may be shared") + body_public, 0o644)
    body_secret = body_public + f'    secret-key = "{secret.decode()}"\n'
    _write(secret_path, _BANNER.format(when=when, what="secret key", note="keep private, never share") + body_secret,
           0o600)
    return public_path, secret_path


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("secret key file %s is readable by others (mode %o): chmod 600 it", path, stat.S_IMODE(mode))


def load_public(path: str | os.PathLike) -> bytes:
    """The z85 public key from a .key or .key_secret file."""
    p = Path(path)
    try:
        public, _ = zmq.auth.load_certificate(p)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{p}: cannot read a public key ({exc})") from None
    if len(public) != 40:
        raise KeyFileError(f"{p}: public key is not a 40-character z85 key")
    return public


def load_secret(path: str | os.PathLike) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys from a .key_secret file."""
    p = Path(path)
    try:
        public, secret = zmq.auth.load_certificate(p)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{p}: cannot read a key pair ({exc})") from None
    if not secret:
        raise KeyFileError(f"{p}: holds no secret key (expected a .key_secret file)")
    if len(public) != 40 or len(secret) != 40:
        raise KeyFileError(f"{p}: keys are not 40-character z85 keys")
    _check_private(p)
    return public, secret


def load_allowed(directory: str | os.PathLike) -> dict[bytes, str]:
    """Allow-list: z85 public key -> name, from every NAME.key in `directory`."""
    folder = Path(directory)
    if not folder.is_dir():
        raise KeyFileError(f"{folder}: allow-list folder does not exist")
    allowed: dict[bytes, str] = {}
    for p in sorted(folder.glob("*.key")):
        allowed[load_public(p)] = p.stem
    if not allowed:
        log.warning("allow-list %s holds no .key files: no station can connect", folder)
    return allowed


@dataclass(frozen=True)
class ClientKeys:
    """A station's key pair and the server's public key (all z85)."""

    public: bytes
    secret: bytes
    server_public: bytes

    @classmethod
    def from_files(cls, secret_file: str | os.PathLike, server_public_file: str | os.PathLike) -> "ClientKeys":
        public, secret = load_secret(secret_file)
        return cls(public=public, secret=secret, server_public=load_public(server_public_file))

    def __repr__(self) -> str:  # never show the secret
        return f"ClientKeys(public={self.public.decode()!r}, server_public={self.server_public.decode()!r})"


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes

    @classmethod
    def from_file(cls, secret_file: str | os.PathLike) -> "ServerKeys":
        public, secret = load_secret(secret_file)
        return cls(public=public, secret=secret)

    @classmethod
    def from_dir(cls, directory: str | os.PathLike, name: str = "server") -> "ServerKeys":
        return cls.from_file(Path(directory) / f"{name}.key_secret")

    def __repr__(self) -> str:
        return f"ServerKeys(public={self.public.decode()!r})"
