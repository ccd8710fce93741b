"""DICOM over TLS (PS3.15 B.1 / BCP 195): Python's ssl contexts for pynetdicom.

`client_context()` for echo, find and send (verifies the peer against a CA unless told not to;
a client certificate when the peer asks for one); `server_context()` for the receiver
(its certificate; with a CA it requires and verifies the callers' certificates). TLS 1.2 or later.
"""
from __future__ import annotations

import os
import ssl
from pathlib import Path

from qcedge.connectors.errors import TlsConfigError

__all__ = ["TlsConfigError", "client_context", "server_context"]


def _load(action, what: str, *paths: str | os.PathLike | None) -> None:
    for p in paths:
        if p is not None and not Path(p).is_file():
            raise TlsConfigError(f"TLS {what} {p}: no such file")
    try:
        action()
    except ssl.SSLError as exc:
        raise TlsConfigError(f"TLS {what} {', '.join(str(p) for p in paths if p)}: {exc.reason or exc}") from None
    except (OSError, ValueError) as exc:
        raise TlsConfigError(f"TLS {what} {', '.join(str(p) for p in paths if p)}: {exc}") from None


def _base(purpose: ssl.Purpose) -> ssl.SSLContext:
    ctx = ssl.create_default_context(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def client_context(*, ca: str | os.PathLike | None = None, cert: str | os.PathLike | None = None,
                   key: str | os.PathLike | None = None, verify: bool = True) -> ssl.SSLContext:
    """An ssl context for associations we start. `ca`: the CA file that signed the peer (default:
    the system's); `cert`/`key`: our certificate if the peer requires one; `verify=False` trusts any peer."""
    ctx = _base(ssl.Purpose.SERVER_AUTH)
    if ca is not None:
        _load(lambda: ctx.load_verify_locations(cafile=str(ca)), "CA file", ca)
    if cert is not None:
        _load(lambda: ctx.load_cert_chain(str(cert), str(key) if key else None), "certificate/key", cert, key)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.check_hostname = False  # DICOM peers are named by AE title and address, rarely by DNS name
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def server_context(*, cert: str | os.PathLike, key: str | os.PathLike | None = None,
                   ca: str | os.PathLike | None = None) -> ssl.SSLContext:
    """An ssl context for the receiver: our certificate; with `ca`, callers must present a
    certificate that CA signed (mutual TLS, as the DICOM TLS profiles expect)."""
    ctx = _base(ssl.Purpose.CLIENT_AUTH)
    _load(lambda: ctx.load_cert_chain(str(cert), str(key) if key else None), "certificate/key", cert, key)
    if ca is not None:
        _load(lambda: ctx.load_verify_locations(cafile=str(ca)), "CA file", ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
