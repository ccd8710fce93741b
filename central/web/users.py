"""The dashboard's users file (TOML): names, roles, a hospital for viewers, scrypt password hashes.

    [users.dr-zhang]
    role = "reviewer"
    password = "scrypt$16384$8$1$<salt b64>$<hash b64>"

    [users.viewer-a]
    role = "viewer"
    site = "hospital-a"

Roles: `admin` and `reviewer` see every hospital and may correct and open/close rectification
items; a `viewer` sees only the records of its `site` (enforced in every query of central.web.access).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from typing import NamedTuple
from pathlib import Path

from qcedge.central.errors import CentralError

ROLES = ("admin", "reviewer", "viewer")
_N, _R, _P = 2 ** 14, 8, 1


class UsersError(CentralError, ValueError):
    """A users file or entry that cannot be used: one line."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    site: str | None = None

    @property
    def can_review(self) -> bool:
        return self.role in ("admin", "reviewer")

    @property
    def scope_site(self) -> str | None:
        """The only hospital this user may see (viewers), or None for all."""
        return self.site if self.role == "viewer" else None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# a hash to verify against when the name is unknown, so both cases take the same time
_DUMMY = hash_password(secrets.token_hex(8))


class Account(NamedTuple):
    """A user of the users file with the scrypt hash of their password."""

    user: User
    password_hash: str


class Users:
    """Users loaded from a TOML file; `authenticate` checks a password."""

    def __init__(self, entries: dict[str, Account]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: str | Path) -> "Users":
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsersError(f"users file {path} not found (create it with: qcedge dashboard adduser)") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise UsersError(f"users file {path}: {exc}") from None
        entries: dict[str, Account] = {}
        for name, e in (data.get("users") or {}).items():
            if not isinstance(e, dict):
                raise UsersError(f"users file {path}: [users.{name}] is not a table")
            role, site, pw = e.get("role"), e.get("site"), e.get("password")
            if role not in ROLES:
                raise UsersError(f"users file {path}: {name}: role is one of {', '.join(ROLES)}")
            if role == "viewer" and not (isinstance(site, str) and site):
                raise UsersError(f"users file {path}: {name}: a viewer needs its site (hospital)")
            if not (isinstance(pw, str) and pw.startswith("scrypt$")):
                raise UsersError(f"users file {path}: {name}: password must be a scrypt hash "
                                 "(qcedge dashboard adduser writes one)")
            entries[name] = Account(User(name, role, site if role == "viewer" else None), pw)
        if not entries:
            raise UsersError(f"users file {path} has no users")
        return cls(entries)

    def authenticate(self, name: str, password: str) -> User | None:
        entry = self._entries.get(name)
        ok = verify_password(password, entry.password_hash if entry else _DUMMY)
        return entry.user if entry and ok else None

    def get(self, name: str) -> User | None:
        entry = self._entries.get(name)
        return entry.user if entry else None

    def all(self) -> list[User]:
        return sorted((e.user for e in self._entries.values()), key=lambda u: u.name)


def add_user(path: str | Path, name: str, role: str, password: str, site: str | None = None) -> None:
    """Add (or replace) a user in the users file, keeping the others."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsersError("a user name is letters, digits, '-', '_' or '.'")
    if role not in ROLES:
        raise UsersError(f"role is one of {', '.join(ROLES)}")
    if role == "viewer" and not site:
        raise UsersError("a viewer needs --site (its hospital)")
    if len(password) < 8:
        raise UsersError("the password is shorter than 8 characters")
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    users = data.get("users") or {}
    users[name] = {"role": role, "password": hash_password(password), **({"site": site} if role == "viewer" else {})}
    lines = []
    for n, e in users.items():
        lines.append(f"[users.{json.dumps(n)}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in e.items()]
        lines.append("")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


def load_secret(path: str | Path) -> str:
    """The session-signing secret from a file, created (mode 0600, 32 random bytes) if missing."""
    path = Path(path)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 32:
        raise UsersError(f"secret file {path} holds fewer than 32 characters")
    return secret
