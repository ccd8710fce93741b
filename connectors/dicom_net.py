"""DICOM networking (pynetdicom): associations to peers, C-ECHO and C-STORE as a user.

`associate()` gives clear errors for the three ways an association fails: the peer cannot be
reached, it rejects us (with the reason it gave), or it aborts.
"""
from __future__ import annotations

import io
import logging
import os
import ssl
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from qcedge.connectors.dicom_files import read_dataset
from qcedge.connectors.errors import DicomNetworkError, DicomReadError, DicomSendError
from qcedge.connectors.peer import Peer, check_ae_title

log = logging.getLogger(__name__)

DEFAULT_CALLING_AET = "QCEDGE"


@dataclass(slots=True)
class Timeouts:
    connect: float = 5.0   # TCP connect
    acse: float = 10.0     # association negotiation
    dimse: float = 30.0    # waiting for a response to a request
    network: float = 60.0  # idle connection


def _make_ae(calling_aet: str, timeouts: Timeouts) -> AE:
    ae = AE(ae_title=check_ae_title(calling_aet))
    ae.connection_timeout = timeouts.connect
    ae.acse_timeout = timeouts.acse
    ae.dimse_timeout = timeouts.dimse
    ae.network_timeout = timeouts.network
    return ae


class _Quiet(logging.Filter):
    """Holds back pynetdicom's ERROR records (with their tracebacks) while we connect: what went
    wrong becomes part of our own one-line error instead."""

    LOGGERS = ("pynetdicom.transport", "pynetdicom.association", "pynetdicom.acse", "pynetdicom.dul")

    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        text = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if text and text not in self.reasons:
            self.reasons.append(text)
        log.debug("pynetdicom: %s", text)
        return False

    def __enter__(self) -> "_Quiet":
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)

    def reason(self) -> str:
        """The most telling cause pynetdicom gave (a TLS or socket error), or ''."""
        for text in self.reasons:
            if "SSL" in text or "TLS" in text:
                return text.split("] ", 1)[-1].split(" (_ssl.c")[0]
        for text in self.reasons:
            if text.startswith("TCP Initialisation Error:"):
                return text.split(":", 1)[1].strip()
        return ""


@contextmanager
def associate(
    peer: Peer,
    contexts: Iterable[tuple[str, list[str]]],
    *,
    calling_aet: str = DEFAULT_CALLING_AET,
    timeouts: Timeouts | None = None,
    tls: ssl.SSLContext | None = None,
    handlers: list[tuple[Any, Any]] | None = None,
) -> Iterator[Association]:
    """An established association with `peer`, released on exit.

    `contexts` is (abstract syntax, [transfer syntaxes]) pairs; `tls` an ssl context
    (connectors.tls.client_context) for DICOM over TLS; `handlers` extra pynetdicom event
    handlers (e.g. N-EVENT-REPORT). Raises DicomNetworkError.
    """
    ae = _make_ae(calling_aet, timeouts or Timeouts())
    for abstract, syntaxes in contexts:
        ae.add_requested_context(abstract, syntaxes)
    rejection: list[str] = []

    def _on_acse(event: evt.Event) -> None:
        primitive = getattr(event, "primitive", None)
        if getattr(primitive, "result", None) in (0x01, 0x02):
            rejection.append(f"{primitive.result_str}, {primitive.source_str}: {primitive.reason_str}")

    connected: list[bool] = []
    all_handlers = [(evt.EVT_ACSE_RECV, _on_acse), (evt.EVT_CONN_OPEN, lambda event: connected.append(True)),
                    *(handlers or [])]
    quiet = _Quiet().__enter__()  # until the association ends: our results and errors say what happened
    try:
        assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title, evt_handlers=all_handlers,
                             tls_args=(tls, None) if tls is not None else None)  # type: ignore[arg-type]
    except (ssl.SSLError, OSError) as exc:  # pynetdicom lets some TLS failures through
        quiet.__exit__()
        ae.shutdown()
        raise DicomNetworkError(f"TLS with {peer} failed: {getattr(exc, 'reason', None) or exc}") from None
    if not assoc.is_established:
        quiet.__exit__()
        ae.shutdown()
        why = quiet.reason()
        if tls is not None and not connected:
            why = why or (f"refused, no answer within {ae.connection_timeout:g} s, or the TLS handshake failed")
            raise DicomNetworkError(f"cannot connect to {peer} over TLS ({why})")
        if not connected:
            raise DicomNetworkError(f"cannot connect to {peer} ({why + '; ' if why else ''}refused, unreachable or "
                                    f"no answer within {ae.connection_timeout:g} s)")
        if assoc.is_rejected:
            reason = rejection[0] if rejection else "no reason given"
            raise DicomNetworkError(f"{peer} rejected the association from {calling_aet} ({reason})")
        if assoc.is_aborted:
            raise DicomNetworkError(f"{peer} aborted the association request from {calling_aet}")
        raise DicomNetworkError(f"{peer} did not answer the association request within {ae.acse_timeout:g} s")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()
        quiet.__exit__()


def echo(peer: Peer, *, calling_aet: str = DEFAULT_CALLING_AET, timeouts: Timeouts | None = None,
         tls: ssl.SSLContext | None = None) -> None:
    """C-ECHO `peer`; raises DicomNetworkError when it does not answer success."""
    with associate(peer, [(Verification, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])],
                   calling_aet=calling_aet, timeouts=timeouts, tls=tls) as assoc:
        status = assoc.send_c_echo()
        if not status or status.get("Status") != 0x0000:
            code = status.get("Status") if status else None
            raise DicomNetworkError(f"{peer} answered C-ECHO with status "
                                    f"{'none (connection lost or timed out)' if code is None else hex(code)}")


@dataclass(slots=True)
class SendResult:
    source: str
    sop_instance_uid: str
    status: int | None
    ok: bool
    message: str = ""
    committed: bool | None = None  # Storage Commitment: None when not asked or no answer


_STORE_WARNINGS = {0xB000: "coercion of data elements", 0xB007: "data set does not match SOP class",
                   0xB006: "elements discarded"}


class _Prepared(NamedTuple):
    """One object to send: how results name it, what is sent, and its SOP class, transfer syntax and UID."""

    label: str
    payload: Dataset | Path
    sop_class: str
    transfer_syntax: str
    uid: str


def _prepare(item: Dataset | str | os.PathLike) -> _Prepared:
    """What to send for a dataset or a file."""
    if isinstance(item, Dataset):
        ts = getattr(getattr(item, "file_meta", None), "TransferSyntaxUID", None) or ExplicitVRLittleEndian
        uid = str(item.get("SOPInstanceUID", ""))
        return _Prepared(uid or "dataset", item, str(item.SOPClassUID), str(ts), uid)
    path = Path(item)
    ds = read_dataset(path, stop_before_pixels=True)
    ts = str(ds.file_meta.get("TransferSyntaxUID") or ImplicitVRLittleEndian)
    return _Prepared(str(path), path, str(ds.SOPClassUID), ts, str(ds.get("SOPInstanceUID", "")))


_NATIVE_LE = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
_SWAP_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _load(payload: Dataset | Path) -> Dataset:
    return read_dataset(payload) if isinstance(payload, Path) else payload.copy()


def _decompressed(payload: Dataset | Path) -> Dataset:
    """The object decoded to Explicit VR Little Endian, keeping its SOP Instance UID (the same
    image in another transfer syntax is the same instance)."""
    ds = _load(payload)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.decompress(generate_instance_uid=False)
    return ds


def _little_endian(payload: Dataset | Path) -> Dataset:
    """An Explicit VR Big Endian object re-encoded as Explicit VR Little Endian (same UID): the
    binary values (OW, OF, ...) are byte-swapped, the rest pydicom writes anew."""
    ds = _load(payload)
    for element in ds.iterall():
        width = _SWAP_WIDTH.get(element.VR)
        if width and isinstance(element.value, bytes) and len(element.value) % width == 0:
            element.value = np.frombuffer(element.value, f">u{width}").astype(f"<u{width}").tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buf = io.BytesIO()
    dcmwrite(buf, ds, implicit_vr=False, little_endian=True, force_encoding=True)
    return read_dataset(io.BytesIO(buf.getvalue()))


def _contexts(prepared: list[_Prepared]) -> list[tuple[str, list[str]]]:
    """Per SOP class: one context per transfer syntax other than the little-endian native ones
    (each alone, so the peer says yes or no to exactly that), and one for the native ones."""
    contexts: list[tuple[str, list[str]]] = []
    for sop_class in dict.fromkeys(p.sop_class for p in prepared):
        for ts in dict.fromkeys(p.transfer_syntax for p in prepared if p.sop_class == sop_class):
            if ts not in _NATIVE_LE:
                contexts.append((sop_class, [ts]))
        contexts.append((sop_class, list(_NATIVE_LE)))
    return contexts


def send(
    peer: Peer,
    items: Iterable[Dataset | str | os.PathLike],
    *,
    calling_aet: str = DEFAULT_CALLING_AET,
    timeouts: Timeouts | None = None,
    tls: ssl.SSLContext | None = None,
    commit: float | None = None,
) -> list[SendResult]:
    """C-STORE datasets or files to `peer` in one association.

    Each object goes as it is, in its own transfer syntax, when the peer accepts that (a
    compressed file stays compressed, its SOP Instance UID unchanged). Only when the peer takes
    the SOP class in none but the uncompressed little-endian syntaxes is it decoded (compressed)
    or re-encoded (big endian) here, keeping its SOP Instance UID, and the result says so.
    With `commit` (seconds to wait), Storage Commitment is asked for what was stored
    (connectors.commitment) and each result says whether the peer committed to keep it.
    Unreadable files give a failed SendResult; an association failure raises DicomNetworkError.
    """
    prepared, results = [], []
    for item in items:
        try:
            prepared.append(_prepare(item))
        except DicomReadError as exc:
            results.append(SendResult(str(item), "", None, False, str(exc)))
    if not prepared:
        return results
    contexts = _contexts(prepared)
    if commit is not None:
        from qcedge.connectors.commitment import COMMITMENT_CONTEXT

        contexts.append(COMMITMENT_CONTEXT)
    if len(contexts) > 128:
        raise DicomSendError(f"too many SOP classes in one send ({len(contexts)} presentation contexts, max 128)")
    reports: list[Any] = []
    handlers = []
    if commit is not None:
        from qcedge.connectors.commitment import report_handler

        handlers.append(report_handler(reports))
    stored: list[tuple[str, SendResult]] = []  # (SOP class, result) of what the peer took
    with associate(peer, contexts, calling_aet=calling_aet, timeouts=timeouts, tls=tls, handlers=handlers) as assoc:
        accepted = {(str(cx.abstract_syntax), str(cx.transfer_syntax[0])) for cx in assoc.accepted_contexts}
        for label, payload, sop_class, ts, uid in prepared:
            note = ""
            if (sop_class, ts) not in accepted and not any((sop_class, t) in accepted for t in _NATIVE_LE):
                results.append(SendResult(label, uid, None, False,
                                          f"{peer.ae_title} does not accept {UID(sop_class).name} "
                                          f"in {UID(ts).name} or uncompressed"))
                continue
            if (sop_class, ts) not in accepted and ts not in _NATIVE_LE:
                convert, how = ((_decompressed, "sent decompressed") if UID(ts).is_compressed
                                else (_little_endian, "sent as Explicit VR Little Endian"))
                try:  # the peer takes this SOP class only uncompressed little endian: convert, as storescu does
                    payload = convert(payload)
                    note = f"{how}: {peer.ae_title} does not accept {UID(ts).name}; SOP Instance UID kept"
                except Exception as exc:
                    results.append(SendResult(label, uid, None, False,
                                              f"{peer.ae_title} does not accept {UID(ts).name} and converting "
                                              f"failed: {one_line(str(exc))}"))
                    continue
            try:
                status = assoc.send_c_store(payload)
            except (ValueError, RuntimeError, AttributeError) as exc:
                results.append(SendResult(label, str(uid), None, False, f"not sent: {one_line(str(exc))}"))
                continue
            code = status.get("Status") if status else None
            if code is None:
                results.append(SendResult(label, str(uid), None, False,
                                          "no response (connection lost or timed out)"))
                if not assoc.is_established:
                    break
            elif code == 0x0000 or code in _STORE_WARNINGS:
                result = SendResult(label, str(uid), code, True,
                                    note if code == 0 else f"warning: {_STORE_WARNINGS[code]}")
                results.append(result)
                stored.append((sop_class, result))
            else:
                comment = str(status.get("ErrorComment", "")) if status else ""
                results.append(SendResult(label, str(uid), code, False,
                                          f"refused with status {code:#06x}" + (f": {comment}" if comment else "")))
        if commit is not None and assoc.is_established:
            from qcedge.connectors.commitment import request_commitment

            request_commitment(assoc, peer, stored, reports, wait=commit)
    return results


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
