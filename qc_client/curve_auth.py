"""CURVE for the reference receiver: a ZAP handler that admits the station keys of an allow-list.

The User-Id of a connection is its public key (z85), so every message can be checked against the
allow-list of the moment (qc_client.receiver_intake): revoking a key applies to open connections too.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Mapping

import zmq
from zmq.auth.thread import ThreadAuthenticator

from qcedge.qc_client.keys import load_allowed


class NamedAuthenticator(ThreadAuthenticator):
    """ZAP handler: CURVE keys from an allow-list. The User-Id of a connection is its public key
    (z85), so every message can be checked against the allow-list of the moment (revocation
    applies to open connections too)."""

    def __init__(self, context: zmq.Context, allowed: Mapping[bytes, str]) -> None:
        super().__init__(context, log=logging.getLogger("qcedge.qc_client.receiver.zap"))
        self._names = dict(allowed)

    def set_allowed(self, allowed: Mapping[bytes, str]) -> None:
        self._names = dict(allowed)
        self.allow_any = False
        for domain in ("*", "qcedge"):
            self.certs[domain] = {key: True for key in self._names}

    def curve_user_id(self, client_public_key: bytes) -> str:
        return zmq.utils.z85.encode(client_public_key).decode("ascii")


def allowed_from(arg: Mapping[bytes, str] | str | os.PathLike | Iterable[bytes | str]) -> dict[bytes, str]:
    if isinstance(arg, (str, os.PathLike)):
        return load_allowed(arg)
    if isinstance(arg, Mapping):
        return {(k.encode() if isinstance(k, str) else k): v for k, v in arg.items()}
    keys = [k.encode() if isinstance(k, str) else k for k in arg]
    return {k: "" for k in keys}


def user_id(frame: zmq.Frame) -> str:
    """The CURVE User-Id (the z85 public key) a message frame came with; "" when there is none."""
    try:
        return frame.get("User-Id") or ""
    except (zmq.ZMQError, KeyError, UnicodeDecodeError):
        return ""
