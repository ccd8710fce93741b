"""DICOM networking (pynetdicom): associations to peers, C-ECHO and C-STORE as a user.

`associate()` gives clear errors for the three ways an association fails: the peer cannot be
reached, it rejects us (with the reason it gave), or it aborts.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from connectors.dicom_files import read_dataset
from connectors.errors import DicomNetworkError, DicomReadError, DicomSendError
from connectors.peer import Peer, check_ae_title

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


@contextmanager
def associate(
    peer: Peer,
    contexts: Iterable[tuple[str, list[str]]],
    *,
    calling_aet: str = DEFAULT_CALLING_AET,
    timeouts: Timeouts | None = None,
) -> Iterator[Association]:
    """An established association with `peer`, released on exit.

    `contexts` is (abstract syntax, [transfer syntaxes]) pairs. Raises DicomNetworkError.
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
    handlers = [(evt.EVT_ACSE_RECV, _on_acse), (evt.EVT_CONN_OPEN, lambda event: connected.append(True))]
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title, evt_handlers=handlers)
    if not assoc.is_established:
        ae.shutdown()
        if not connected:
            raise DicomNetworkError(f"cannot connect to {peer} (refused, unreachable or no answer within "
                                    f"{ae.connection_timeout:g} s)")
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


def echo(peer: Peer, *, calling_aet: str = DEFAULT_CALLING_AET, timeouts: Timeouts | None = None) -> None:
    """C-ECHO `peer`; raises DicomNetworkError when it does not answer success."""
    with associate(peer, [(Verification, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])],
                   calling_aet=calling_aet, timeouts=timeouts) as assoc:
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


_STORE_WARNINGS = {0xB000: "coercion of data elements", 0xB007: "data set does not match SOP class",
                   0xB006: "elements discarded"}


def _prepare(item: Dataset | str | os.PathLike) -> tuple[str, Dataset | Path, str, str, str]:
    """(label, what to send, SOP class, transfer syntax, SOP instance) for a dataset or a file."""
    if isinstance(item, Dataset):
        ts = getattr(getattr(item, "file_meta", None), "TransferSyntaxUID", None) or ExplicitVRLittleEndian
        uid = str(item.get("SOPInstanceUID", ""))
        return (uid or "dataset", item, str(item.SOPClassUID), str(ts), uid)
    path = Path(item)
    ds = read_dataset(path, stop_before_pixels=True)
    ts = str(ds.file_meta.get("TransferSyntaxUID") or ImplicitVRLittleEndian)
    return (str(path), path, str(ds.SOPClassUID), ts, str(ds.get("SOPInstanceUID", "")))


def _decompressed(payload: Dataset | Path) -> Dataset:
    ds = read_dataset(payload) if isinstance(payload, Path) else payload.copy()
    ds.decompress()
    return ds


def send(
    peer: Peer,
    items: Iterable[Dataset | str | os.PathLike],
    *,
    calling_aet: str = DEFAULT_CALLING_AET,
    timeouts: Timeouts | None = None,
) -> list[SendResult]:
    """C-STORE datasets or files to `peer` in one association.

    Files are sent as stored (not re-encoded). Unreadable files give a failed SendResult;
    an association failure raises DicomNetworkError.
    """
    prepared, results = [], []
    for item in items:
        try:
            prepared.append(_prepare(item))
        except DicomReadError as exc:
            results.append(SendResult(str(item), "", None, False, str(exc)))
    if not prepared:
        return results
    wanted: dict[str, list[str]] = {}
    for _, _, sop_class, ts, _ in prepared:
        syntaxes = wanted.setdefault(sop_class, [])
        for uid in (ts, ExplicitVRLittleEndian, ImplicitVRLittleEndian):
            if uid not in syntaxes:
                syntaxes.append(uid)
    contexts: list[tuple[str, list[str]]] = []
    for sop_class, syntaxes in wanted.items():
        compressed = [s for s in syntaxes if UID(s).is_compressed]
        if compressed:  # a compressed file needs its own context: the peer may accept only that one
            contexts.append((sop_class, compressed))
            contexts.append((sop_class, [s for s in syntaxes if s not in compressed]))
        else:
            contexts.append((sop_class, syntaxes))
    if len(contexts) > 128:
        raise DicomSendError(f"too many SOP classes in one send ({len(contexts)} presentation contexts, max 128)")
    with associate(peer, contexts, calling_aet=calling_aet, timeouts=timeouts) as assoc:
        accepted = {(str(cx.abstract_syntax), str(cx.transfer_syntax[0])) for cx in assoc.accepted_contexts}
        for label, payload, sop_class, ts, uid in prepared:
            note = ""
            if (sop_class, ts) not in accepted and UID(ts).is_compressed:
                try:  # the peer takes this SOP class only uncompressed: decode here, as storescu would
                    payload = _decompressed(payload)
                    note = f"sent decompressed: {peer.ae_title} does not accept {UID(ts).name}"
                except Exception as exc:
                    results.append(SendResult(label, uid, None, False,
                                              f"{peer.ae_title} does not accept {UID(ts).name} and decoding failed: {exc}"))
                    continue
            try:
                status = assoc.send_c_store(payload)
            except (ValueError, RuntimeError, AttributeError) as exc:
                results.append(SendResult(label, str(uid), None, False, f"not sent: {exc}"))
                continue
            code = status.get("Status") if status else None
            if code is None:
                results.append(SendResult(label, str(uid), None, False,
                                          "no response (connection lost or timed out)"))
                if not assoc.is_established:
                    break
            elif code == 0x0000:
                results.append(SendResult(label, str(uid), code, True, note))
            elif code in _STORE_WARNINGS:
                results.append(SendResult(label, str(uid), code, True, f"warning: {_STORE_WARNINGS[code]}"))
            else:
                comment = str(status.get("ErrorComment", "")) if status else ""
                results.append(SendResult(label, str(uid), code, False,
                                          f"refused with status {code:#06x}" + (f": {comment}" if comment else "")))
    return results
