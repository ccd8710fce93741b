"""A DICOM receiver (storage SCP): answers C-ECHO, accepts C-STORE, keeps everything it accepts.

Order of work for each C-STORE: the dataset, as received (never decoded first), is written to
`store_dir/YYYYMMDD/<SOP Instance UID>.dcm` through a temporary file that is fsync'd and
renamed (the folder is fsync'd too); only then does the peer get Success. If the write fails
the peer gets "Out of resources" (0xA700) and keeps its copy. A callback per stored object then
runs on a worker thread (so a slow OCR job never holds the modality); its failures are logged
and the file stays. A corrupt dataset is stored as received and reported by the callback; the
receiver keeps serving. Each file handed to the callback is noted in `YYYYMMDD/.processed`; on
start, files stored but never processed (the process died in between) are queued again.
How a file is written and compared is connectors.receiver_store.

Callers are checked twice: `allowed_aets` (calling AE titles; others get A-ASSOCIATE-RJ
"calling AE title not recognised") and `allowed_hosts` (IP addresses; others are refused at the
TCP level before any DICOM is spoken). Both are logged.
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import re
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

from pydicom.uid import UID
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, StoragePresentationContexts, _config, evt
from pynetdicom import acse as _acse
from pynetdicom.presentation import negotiate_as_acceptor, negotiate_unrestricted
from pynetdicom.sop_class import _STORAGE_CLASSES, Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from qcedge.connectors.errors import ConnectorConfigError
from qcedge.connectors.peer import check_ae_title
from qcedge.connectors.receiver_store import remove_stale_parts, same_object, uid_of_stored, variant_path, write_durably

__all__ = ["Receiver", "ReceiverConfig", "StoredObject", "allowed_network", "may_be_storage", "remove_stale_parts",
           "same_object", "uid_of_stored", "variant_path", "write_durably"]

log = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC210
_UID = re.compile(r"^[0-9][0-9.]{0,63}$")


_STORAGE_UIDS = frozenset(_STORAGE_CLASSES.values())
_NOT_STORAGE_WORDS = ("Commitment", "Print", "Hardcopy", "Media Storage Directory")


def may_be_storage(abstract_syntax: str) -> bool:
    """True for storage SOP classes and for UIDs no dictionary knows (private classes); False for
    the standard classes of other services (worklist or Q/R C-FIND, MPPS, commitment, print...),
    which a storage-only receiver cannot answer."""
    uid = UID(abstract_syntax)
    if uid in _STORAGE_UIDS or uid.startswith("1.2.840.10008.5.1.4.1.1.") or uid.is_private:
        return True
    if uid.type != "SOP Class":
        return True  # not in the dictionary: a private or newer class, stored like any object
    return "Storage" in uid.name and not any(w in uid.name for w in _NOT_STORAGE_WORDS)


def _negotiate_storage_only(rq_contexts: Any, ac_contexts: Any, roles: Any = None) -> Any:
    """pynetdicom's unrestricted storage negotiation, except that a standard non-storage class
    (pynetdicom misses some, e.g. the worklist FIND) is negotiated against what we support: it
    is refused ("abstract syntax not supported") instead of accepted and then failed."""
    storage = [cx for cx in rq_contexts if may_be_storage(cx.abstract_syntax)]
    other = [cx for cx in rq_contexts if not may_be_storage(cx.abstract_syntax)]
    result, reply_roles = negotiate_unrestricted(storage, ac_contexts, roles) if storage else ([], [])
    if other:
        more, more_roles = negotiate_as_acceptor(other, ac_contexts, roles)
        result, reply_roles = sorted(result + more, key=lambda cx: cx.context_id), reply_roles + more_roles
    return result, reply_roles


@dataclass(slots=True)
class StoredObject:
    """One object received and safely on disk."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    calling_aet: str
    address: str
    received_at: datetime
    duplicate: bool = False


@dataclass
class ReceiverConfig:
    ae_title: str = "QCEDGE"
    host: str = "127.0.0.1"
    port: int = 11112
    store_dir: Path = Path("dicom-in")
    allowed_aets: list[str] = field(default_factory=list)   # empty: any calling AE title
    allowed_hosts: list[str] = field(default_factory=list)  # addresses or networks; empty: any
    require_called_aet: bool = True
    accept_any_sop_class: bool = True  # store private/unknown SOP classes too (nothing is lost)
    max_associations: int = 20  # at once, counting connections that have not asked for one yet
    acse_timeout: float = 10.0  # a connection must ask for an association (and finish TLS) within this
    dimse_timeout: float = 60.0  # waiting for the next part of a message
    network_timeout: float = 60.0  # an association idle this long is closed
    ssl_context: ssl.SSLContext | None = None  # DICOM over TLS (see connectors.tls)

    def __post_init__(self) -> None:
        if not isinstance(self.max_associations, int) or not 1 <= self.max_associations <= 1000:
            raise ConnectorConfigError(f"max associations {self.max_associations!r} must be between 1 and 1000")
        for name in ("acse_timeout", "dimse_timeout", "network_timeout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 86400:  # NaN fails this too
                raise ConnectorConfigError(f"{name.replace('_', ' ')} {value!r} must be a number of seconds above 0 "
                                 "(at most 86400)")


def allowed_network(host: str) -> Any:
    """An allowed-hosts entry (an address or a network) as a network; ConnectorConfigError if it is neither."""
    try:
        return ip_network(host if "/" in host else f"{host}/{128 if ':' in host else 32}", strict=False)
    except ValueError as exc:
        raise ConnectorConfigError(f"allowed host '{host}': {exc}") from None


class _Server(ThreadedAssociationServer):
    """pynetdicom's server with an address allow-list checked before any DICOM is spoken."""

    allowed: list[Any] = []
    on_refused: Callable[[str], None] | None = None
    handshake_timeout: float = 10.0

    def get_request(self) -> tuple[Any, Any]:
        """Accept; with TLS, wrap without the handshake: it runs on the connection's own thread
        (`process_request_thread`), so a caller that never speaks cannot hold the accept loop."""
        client, address = self.socket.accept()  # type: ignore[union-attr]
        if self.ssl_context:
            client = self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False)
        return client, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(self.handshake_timeout)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ValueError) as exc:
                log.warning("TLS handshake with %s failed: %s", client_address[0] if isinstance(client_address, tuple)
                            else client_address, getattr(exc, "reason", None) or exc)
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def verify_request(self, request: Any, client_address: Any) -> bool:  # socketserver hook
        if not self.allowed:
            return True
        host = client_address[0] if isinstance(client_address, tuple) else str(client_address)
        try:
            addr = ip_address(host)
        except ValueError:
            addr = None
        if addr is not None and any(addr in net for net in self.allowed):
            return True
        if self.on_refused:
            self.on_refused(host)
        return False


class Receiver:
    """Start with `start()` (returns at once) or `serve_forever()`; stop with `stop()`."""

    def __init__(self, config: ReceiverConfig, on_stored: Callable[[StoredObject], Any] | None = None) -> None:
        self.config = config
        self.on_stored = on_stored
        self.store_dir = Path(config.store_dir)
        self.stats = {"stored": 0, "duplicates": 0, "store_failed": 0, "rejected": 0, "refused": 0,
                      "callback_ok": 0, "callback_failed": 0, "echo": 0, "recovered": 0}
        self._lock = threading.Lock()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._server: _Server | None = None
        self._ae: AE | None = None
        # validated here, so a bad setting is a ConnectorConfigError (a ValueError) before anything listens
        self._ae_title = check_ae_title(config.ae_title)
        self._allowed_aets = [check_ae_title(a) for a in config.allowed_aets]
        self._networks = [allowed_network(h) for h in config.allowed_hosts]

    # ------------------------------------------------------------------ life cycle
    @property
    def port(self) -> int:
        if self._server is None:
            return self.config.port
        return int(self._server.server_address[1])

    def start(self) -> "Receiver":
        cfg = self.config
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if cfg.accept_any_sop_class:
            _config.UNRESTRICTED_STORAGE_SERVICE = True
            _acse.negotiate_unrestricted = _negotiate_storage_only
        ae = AE(ae_title=self._ae_title)
        ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES)
        for cx in StoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.require_calling_aet = self._allowed_aets
        ae.require_called_aet = cfg.require_called_aet
        ae.maximum_associations = cfg.max_associations
        ae.network_timeout = cfg.network_timeout
        ae.acse_timeout = cfg.acse_timeout
        ae.dimse_timeout = cfg.dimse_timeout
        handlers = [
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_ABORTED, self._on_aborted),
        ]
        self._worker = threading.Thread(target=self._work, name="qcedge-dicom-callbacks", daemon=True)
        self._worker.start()
        for day in self._days():
            remove_stale_parts(day)
        if self.on_stored is not None:
            self._recover()
        server = ae.make_server((cfg.host, cfg.port), evt_handlers=handlers, server_class=_Server,
                                ssl_context=cfg.ssl_context)
        server.allowed = self._networks
        server.handshake_timeout = cfg.acse_timeout
        server.on_refused = self._on_refused
        ae._servers.append(server)  # as ae.start_server does, so server.shutdown() can deregister it
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         name="qcedge-dicom-receiver", daemon=True).start()
        self._ae, self._server = ae, server
        log.info("DICOM receiver %s listening on %s:%d, storing to %s", cfg.ae_title, cfg.host, self.port, self.store_dir)
        return self

    def serve_forever(self) -> None:
        self.start()
        try:
            threading.Event().wait()
        finally:
            self.stop()

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop accepting, let the callbacks of what was stored finish."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._ae is not None:
            self._ae.shutdown()
            self._ae = None
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(drain_timeout)
            self._worker = None

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every stored object's callback has run (for tests and tools)."""
        done = threading.Event()
        self._queue.put_nowait(_Marker(done))  # type: ignore[arg-type]
        return done.wait(timeout)

    # ------------------------------------------------------------------ events
    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def _on_echo(self, event: evt.Event) -> int:
        self._count("echo")
        return SUCCESS

    def _on_rejected(self, event: evt.Event) -> None:
        self._count("rejected")
        req = event.assoc.requestor
        log.warning("rejected association from AE '%s' at %s:%s (calling AE title not allowed or called AE title wrong)",
                    req.ae_title, req.address, req.port)

    def _on_refused(self, host: str) -> None:
        self._count("refused")
        log.warning("refused connection from %s: address not in allowed hosts", host)

    def _on_aborted(self, event: evt.Event) -> None:
        req = event.assoc.requestor
        log.info("association with AE '%s' at %s aborted", req.ae_title, req.address)

    def _target(self, sop_uid: str, received: datetime) -> Path:
        name = sop_uid if _UID.match(sop_uid) else "x" + hashlib.sha256(sop_uid.encode()).hexdigest()[:32]
        return self.store_dir / received.strftime("%Y%m%d") / f"{name}.dcm"

    def _on_store(self, event: evt.Event) -> int:
        received = datetime.now(timezone.utc)
        req = event.request
        sop_uid = str(req.AffectedSOPInstanceUID or "")
        sop_class = str(req.AffectedSOPClassUID or "")
        calling = event.assoc.requestor.ae_title
        address = str(event.assoc.requestor.address)
        try:
            data = event.encoded_dataset(include_meta=True)
        except Exception as exc:
            self._count("store_failed")
            log.error("C-STORE from %s: dataset could not be taken from the message: %s", calling, exc)
            return CANNOT_UNDERSTAND
        target = self._target(sop_uid, received)
        try:
            target, duplicate = write_durably(target, data)
        except OSError as exc:
            self._count("store_failed")
            log.error("C-STORE from %s: cannot store %s: %s; answering Out of Resources", calling, target, exc)
            return OUT_OF_RESOURCES
        if duplicate:  # sent again (our Success was lost?): stored and processed once, not twice
            self._count("duplicates")
            log.info("%s from %s was already stored; not processed again", target.name, calling)
            return SUCCESS
        self._count("stored")
        log.info("stored %s (%s) from %s at %s", target.name, sop_class, calling, address)
        self._queue.put(StoredObject(target, sop_class, sop_uid, calling, address, received))
        return SUCCESS

    # ------------------------------------------------------------------ callbacks
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, _Marker):
                item.done.set()
                continue
            if self.on_stored is None:
                continue
            try:
                self.on_stored(item)
                self._count("callback_ok")
            except Exception as exc:  # the file stays; the receiver keeps serving
                self._count("callback_failed")
                log.error("stored %s but processing it failed: %s: %s", item.path, type(exc).__name__, exc)
            self._journal(item.path)

    # ------------------------------------------------------------------ recovery
    JOURNAL = ".processed"

    def _journal(self, path: Path) -> None:
        """Note that `path` was handed to the callback (its outcome, good or bad, was logged)."""
        try:
            with open(path.parent / self.JOURNAL, "a", encoding="utf-8") as f:
                f.write(path.name + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            log.error("cannot note %s as processed: %s", path, exc)

    def _days(self) -> list[Path]:
        return sorted(p for p in self.store_dir.iterdir() if p.is_dir() and p.name.isdigit())

    def _recover(self) -> int:
        """Queue every stored file the callback never saw (the process died between storing and
        processing): stored before Success, processed at least once."""
        count = 0
        for day in self._days():
            journal = day / self.JOURNAL
            seen = set(journal.read_text(encoding="utf-8").split()) if journal.exists() else set()
            for path in sorted(day.glob("*.dcm")):
                if path.name not in seen:
                    self._queue.put(StoredObject(path, "", uid_of_stored(path), "(recovered)", "",
                                                 datetime.now(timezone.utc)))
                    count += 1
        if count:
            log.warning("recovering %d stored object(s) that were never processed", count)
        self.stats["recovered"] = count
        return count


@dataclass(slots=True)
class _Marker:
    done: threading.Event
