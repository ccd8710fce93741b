"""Storage Commitment Push Model (PS3.4 J) as the user: after C-STORE, ask the peer (N-ACTION)
to commit to keeping what it received, and read its answer (N-EVENT-REPORT) on the same
association. A PACS that commits has taken responsibility for the objects; the station may
then forget them.

The report may also come later on a new association started by the peer; this module waits
`wait` seconds on the association it has and says so when nothing came.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.sop_class import StorageCommitmentPushModel  # type: ignore[attr-defined]

from qcedge.connectors.peer import Peer

log = logging.getLogger(__name__)

COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"  # the well-known SOP Instance of the push model
COMMITMENT_CONTEXT = (str(StorageCommitmentPushModel), [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
REQUEST_COMMIT = 1  # N-ACTION action type
EVENT_SUCCESS, EVENT_FAILURES = 1, 2  # N-EVENT-REPORT event types
_FAILURE_REASONS = {0x0110: "processing failure", 0x0112: "no such object instance", 0x0213: "resource limitation",
                    0x0122: "referenced SOP class not supported", 0x0119: "class / instance conflict",
                    0x0131: "duplicate transaction UID"}


class _Reports:
    """N-EVENT-REPORTs received on the association, by transaction UID."""

    def __init__(self) -> None:
        self.by_transaction: dict[str, tuple[int, Dataset]] = {}
        self.arrived = threading.Condition()

    def add(self, event_type: int, info: Dataset) -> None:
        with self.arrived:
            self.by_transaction[str(info.get("TransactionUID", ""))] = (event_type, info)
            self.arrived.notify_all()

    def wait_for(self, transaction: str, timeout: float) -> tuple[int, Dataset] | None:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while transaction not in self.by_transaction:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)
            return self.by_transaction[transaction]


def report_handler(reports: list[Any]) -> tuple[Any, Any]:
    """A pynetdicom handler for N-EVENT-REPORT that keeps the reports in `reports[0]`."""
    if not reports:
        reports.append(_Reports())
    box: _Reports = reports[0]

    def on_report(event: evt.Event) -> tuple[int, Dataset | None]:
        if str(event.request.AffectedSOPClassUID) != str(StorageCommitmentPushModel):
            return 0x0112, None  # no such SOP instance
        try:
            info = event.event_information
        except Exception as exc:  # a report we cannot decode: refuse it, the peer may retry
            log.warning("storage commitment report that cannot be decoded: %s", exc)
            return 0x0110, None
        box.add(int(event.event_type), info)
        return 0x0000, None

    return (evt.EVT_N_EVENT_REPORT, on_report)


def request_commitment(assoc: Association, peer: Peer, stored: list[tuple[str, Any]], reports: list[Any],
                       *, wait: float) -> str | None:
    """Ask `peer` to commit to the stored objects ((SOP class, SendResult) pairs); set each
    result's `committed` (True, False, or None when no answer came) and add to its message.
    Returns the transaction UID (None when nothing was asked)."""
    if not stored:
        return None
    if not any(str(cx.abstract_syntax) == COMMITMENT_CONTEXT[0] for cx in assoc.accepted_contexts):
        for _, result in stored:
            result.message = _join(result.message, f"{peer.ae_title} does not offer Storage Commitment")
        return None
    transaction = generate_uid()
    request = Dataset()
    request.TransactionUID = transaction
    refs = []
    for sop_class, result in stored:
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, result.sop_instance_uid
        refs.append(item)
    request.ReferencedSOPSequence = Sequence(refs)
    status, _ = assoc.send_n_action(request, REQUEST_COMMIT, StorageCommitmentPushModel, COMMITMENT_INSTANCE)
    code = status.get("Status") if status else None
    if code != 0x0000:
        why = "no answer" if code is None else f"status {code:#06x}"
        for _, result in stored:
            result.message = _join(result.message, f"storage commitment request refused ({why})")
        return transaction
    report = reports[0].wait_for(transaction, wait) if reports else None
    if report is None:
        for _, result in stored:
            result.message = _join(result.message, f"storage commitment asked (transaction {transaction}); no "
                                                   f"report within {wait:g} s: not known to be committed")
        return transaction
    _, info = report
    committed = {str(i.get("ReferencedSOPInstanceUID", "")) for i in info.get("ReferencedSOPSequence") or []}
    failed = {str(i.get("ReferencedSOPInstanceUID", "")): int(i.get("FailureReason", 0x0110))
              for i in info.get("FailedSOPSequence") or []}
    for _, result in stored:
        uid = result.sop_instance_uid
        if uid in committed:
            result.committed = True
            result.message = _join(result.message, "committed")
        else:
            result.committed = False
            reason = _FAILURE_REASONS.get(failed.get(uid, -1), "not in the peer's report")
            result.message = _join(result.message, f"NOT committed ({reason})")
    return transaction


def _join(message: str, more: str) -> str:
    return f"{message}; {more}" if message else more
