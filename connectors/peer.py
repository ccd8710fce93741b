"""A DICOM peer written as `AE@host:port`."""
from __future__ import annotations

import re
from dataclasses import dataclass

from qcedge.connectors.errors import ConnectorConfigError

_AE_CHARS = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # default repertoire without backslash


@dataclass(frozen=True, slots=True)
class Peer:
    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def check_ae_title(value: str) -> str:
    """Return the AE title stripped; ConnectorConfigError (a ValueError) when it cannot be one (1-16 chars, no backslash)."""
    title = value.strip()
    if not title or not _AE_CHARS.match(title):
        raise ConnectorConfigError(f"'{value}' is not an AE title (1 to 16 printable characters, no backslash)")
    return title


def parse_peer(text: str) -> Peer:
    """Parse `AE@host:port` (IPv6 hosts in brackets: `AE@[::1]:104`)."""
    ae, at, rest = text.rpartition("@")
    if not at:
        raise ConnectorConfigError(f"'{text}' is not AE@host:port")
    host, colon, port = rest.rpartition(":")
    if not colon or not host:
        raise ConnectorConfigError(f"'{text}' is not AE@host:port (no port)")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise ConnectorConfigError(f"'{text}': port '{port}' is not a number") from None
    if not 0 < number < 65536:
        raise ConnectorConfigError(f"'{text}': port {number} is out of range")
    return Peer(check_ae_title(ae), host, number)
