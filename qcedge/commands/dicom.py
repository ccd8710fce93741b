"""`qcedge dicom`: read files, receive, query, send, echo, and build dose reports from screens.

This module is the composition root for DICOM: it wires `connectors` (DICOM I/O) to
`ocr_templates` (reading screen saves and dose screens) and `qcedge.records`.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from qcedge.cli import UsageError, one_line

log = logging.getLogger("qcedge.dicom")


# --------------------------------------------------------------------------- parser

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dicom", help="DICOM files and network: read, receive, find, send, echo, rdsr",
                       description="Read DICOM files into records, run a DICOM receiver, query worklists and "
                                   "PACS, and build standard CT dose reports (RDSR) from dose screens.")
    p.set_defaults(func=lambda args: _help(p))
    d = p.add_subparsers(dest="dicom_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser, station: bool = True, network: bool = False) -> None:
        if station:
            q.add_argument("--station", default=socket.gethostname(), help="station id for records (default: host name)")
            q.add_argument("--site", default="local", help="site id for records (default: local)")
        if network:
            q.add_argument("--calling-aet", default="QCEDGE", metavar="AE", help="our AE title (default QCEDGE)")
            q.add_argument("--timeout", type=float, default=30.0, metavar="S", help="DIMSE timeout in seconds (default 30)")
            q.add_argument("--tls", action="store_true",
                           help="DICOM over TLS (the peer's certificate is checked against --tls-ca, else the system CAs)")
            q.add_argument("--tls-ca", metavar="FILE", help="CA certificate(s) that signed the peer's (implies --tls)")
            q.add_argument("--tls-cert", metavar="FILE", help="our certificate, when the peer asks for one (implies --tls)")
            q.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (if not in the same file)")
            q.add_argument("--tls-no-verify", action="store_true", help="with TLS, accept any peer certificate (testing only)")

    q = d.add_parser("read", help="read DICOM files into records",
                     description="Read DICOM files (images, dose SRs, screen saves) into qcedge records. Exit 2 "
                                 "if a file cannot be read (one line each), 1 if a screen save matches no template.")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--json", action="store_true", help="print one record per line as JSON")
    q.add_argument("--templates", metavar="DIR|T.yaml", help="OCR screen saves with these templates")
    q.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract"], help="OCR engine for screen saves")
    q.add_argument("--show-personal", action="store_true", help="show personal fields in the summary (hidden by default)")
    common(q)
    q.set_defaults(func=cmd_read)

    q = d.add_parser("receive", help="run a DICOM receiver (C-ECHO, C-STORE) that turns objects into records",
                     description="Accept C-STORE from modalities or PACS, store every object fsync'd, then make a "
                                 "record (or an OCR job for screen saves). Stops on Ctrl-C or SIGTERM.")
    q.add_argument("--aet", default="QCEDGE", help="our AE title (default QCEDGE)")
    q.add_argument("--host", default="0.0.0.0", help="address to listen on (default all)")
    q.add_argument("--port", type=int, default=11112, help="port (default 11112)")
    q.add_argument("--store", required=True, metavar="DIR", help="folder for received objects")
    q.add_argument("--allow", action="append", default=[], metavar="AE", help="allowed calling AE title (repeat)")
    q.add_argument("--allow-host", action="append", default=[], metavar="ADDR",
                   help="allowed caller address or network, e.g. 10.1.2.0/24 (repeat)")
    q.add_argument("--config", metavar="station.toml",
                   help="the station's config: its id and site, privacy policy, template pack, and the feed's "
                        "outbox, where records then go (instead of --records/stdout)")
    q.add_argument("--records", metavar="FILE", help="append records as JSON lines to FILE (default: stdout)")
    q.add_argument("--templates", metavar="DIR|T.yaml", help="OCR screen saves with these templates")
    q.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract"])
    q.add_argument("--max-associations", type=int, default=20, metavar="N",
                   help="associations at once, counting connections not yet associated (default 20)")
    q.add_argument("--acse-timeout", type=float, default=10.0, metavar="S",
                   help="a connection must ask for an association within S seconds, or it is closed (default 10)")
    q.add_argument("--dimse-timeout", type=float, default=60.0, metavar="S",
                   help="wait at most S seconds for the rest of a message (default 60)")
    q.add_argument("--network-timeout", type=float, default=60.0, metavar="S",
                   help="close an association idle for S seconds (default 60)")
    q.add_argument("--tls-cert", metavar="FILE", help="accept DICOM over TLS only, with this certificate")
    q.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (if not in the same file)")
    q.add_argument("--tls-ca", metavar="FILE", help="with --tls-cert: callers must present a certificate signed by this CA")
    common(q)
    q.set_defaults(func=cmd_receive)

    q = d.add_parser("find", help="C-FIND a worklist or a PACS (study root)",
                     description="Query a modality worklist (--worklist) or a PACS at study level (default). "
                                 "With --at, print the accession number of the patient's procedure nearest that time.")
    q.add_argument("peer", metavar="AE@host:port")
    q.add_argument("--worklist", action="store_true", help="query the modality worklist (default: studies)")
    q.add_argument("--patient-id")
    q.add_argument("--patient-name")
    q.add_argument("--date", help="YYYYMMDD or a range YYYYMMDD-YYYYMMDD")
    q.add_argument("--accession")
    q.add_argument("--modality")
    q.add_argument("--station-aet", help="worklist: scheduled station AE title")
    q.add_argument("--at", metavar="DATETIME", help="ISO time of the exam: print the best accession number only")
    q.add_argument("--window-hours", type=float, default=6.0, help="with --at: how far from it to look (default 6)")
    q.add_argument("--charset", default="ISO_IR 192", choices=["ISO_IR 192", "GB18030", "ISO_IR 100", "ISO_IR 6"],
                   help="Specific Character Set of the query (default ISO_IR 192, UTF-8); answers are read in theirs")
    q.add_argument("--json", action="store_true")
    common(q, station=False, network=True)
    q.set_defaults(func=cmd_find)

    q = d.add_parser("echo", help="C-ECHO a peer")
    q.add_argument("peer", metavar="AE@host:port")
    common(q, station=False, network=True)
    q.set_defaults(func=cmd_echo)

    q = d.add_parser("send", help="C-STORE files to a peer")
    q.add_argument("peer", metavar="AE@host:port")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--commit", type=float, nargs="?", const=30.0, metavar="S",
                   help="ask the peer for Storage Commitment and wait up to S seconds for its report (default 30)")
    common(q, station=False, network=True)
    q.set_defaults(func=cmd_send)

    q = d.add_parser("rdsr", help="build a CT Radiation Dose SR from a dose screen (and send it)",
                     description="OCR a CT dose screen with a template (or take a record JSON), build an X-Ray "
                                 "Radiation Dose SR (TID 10011) and write and/or C-STORE it.")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument("--template", metavar="T.yaml", help="the dose screen's template (then give IMAGE)")
    src.add_argument("--record", metavar="REC.json", help="a record (JSON) already read from a dose screen")
    q.add_argument("image", nargs="?", metavar="IMAGE", help="screen image (PNG/JPEG) or DICOM screen save")
    q.add_argument("--send", metavar="AE@host:port", help="C-STORE the SR to this destination")
    q.add_argument("--out", metavar="FILE", help="write the SR to FILE")
    q.add_argument("--mwl", metavar="AE@host:port", help="fill accession number and study from this worklist")
    q.add_argument("--mapping", metavar="MAP.yaml", help="field-name mapping overrides (see docs/connectors.md)")
    q.add_argument("--allow-review", action="store_true",
                   help="build even when values need review (SR marked PARTIAL with a comment)")
    q.add_argument("--commit", type=float, nargs="?", const=30.0, metavar="S",
                   help="with --send: ask for Storage Commitment and wait up to S seconds (default 30); "
                        "exit 1 unless the SR is committed")
    q.add_argument("--device-name", metavar="NAME", help="the CT's name for the SR's device observer (station config)")
    q.add_argument("--device-manufacturer", metavar="TEXT", help="the CT's manufacturer (station config)")
    q.add_argument("--device-model", metavar="TEXT", help="the CT's model name (station config)")
    q.add_argument("--device-serial", metavar="TEXT", help="the CT's serial number (station config)")
    q.add_argument("--device-location", metavar="TEXT", help="where the CT is (station config)")
    q.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract"])
    q.add_argument("--json", action="store_true", help="print a JSON summary")
    common(q, network=True)
    q.set_defaults(func=cmd_rdsr)

    q = d.add_parser("plugins", help="list connector plugins found through entry points")
    q.set_defaults(func=cmd_plugins)


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


# --------------------------------------------------------------------------- helpers

def _peer(text: str):
    from qcedge.connectors.peer import parse_peer

    try:
        return parse_peer(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _timeouts(args: argparse.Namespace):
    from qcedge.connectors.dicom_net import Timeouts

    if not 0 < args.timeout <= 86400:  # NaN fails this too
        raise UsageError(f"--timeout {args.timeout} must be a number of seconds above 0")
    return Timeouts(dimse=args.timeout, acse=min(args.timeout, 30.0))


def _tls_client(args: argparse.Namespace):
    """An ssl context when any --tls option is given, else None."""
    if not (args.tls or args.tls_ca or args.tls_cert or args.tls_no_verify):
        return None
    from qcedge.connectors.tls import TlsConfigError, client_context

    if args.tls_key and not args.tls_cert:
        raise UsageError("--tls-key needs --tls-cert")
    try:
        return client_context(ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key, verify=not args.tls_no_verify)
    except TlsConfigError as exc:
        raise UsageError(str(exc)) from None


def _quiet_libraries(verbose: int) -> None:
    """pydicom's warnings (and its logger's) are about the files we name in our own messages;
    shown only with -v, so that the one line qcedge prints about a file is the line a person sees."""
    import warnings

    if verbose:
        return
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)  # its decoders log ERRORs with tracebacks
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


_READERS: dict[tuple[str, float, str], Callable] = {}


def _screen_reader(spec: str | None, engine: str):
    """A function image -> (reading, template) | None for screen saves, or None without templates.

    Readers are kept per (templates, engine) for the life of the process: loading the OCR
    models costs seconds."""
    if not spec:
        return None
    try:
        key = (str(Path(spec).resolve()), Path(spec).stat().st_mtime, engine)
    except OSError as exc:
        raise UsageError(f"{spec}: {exc.strerror or exc}") from None
    if key not in _READERS:
        _READERS[key] = _make_screen_reader(spec, engine)
    return _READERS[key]


def _make_screen_reader(spec: str, engine: str):
    try:
        from qcedge.ocr_templates.loader import load_template, load_templates
        from qcedge.ocr_templates.reader import ScreenReader
    except ImportError as exc:
        raise UsageError(f"OCR of screen saves is not available in this build ({exc})") from None
    from qcedge.ocr_templates import TemplateError

    path = Path(spec)
    try:
        templates = list(load_templates(path)) if path.is_dir() else [load_template(path)]
    except TemplateError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{spec}: {exc.strerror or exc}") from None
    if not templates:
        raise UsageError(f"{spec}: no templates found")
    reader = ScreenReader(templates, engine=engine)
    by_id = {t.id: t for t in templates}
    lock = threading.Lock()  # one OCR engine, used from the receiver's worker thread and the CLI

    def read(image):
        with lock:
            reading = reader.process(image)
        if reading is None:
            return None
        return reading, by_id[reading.template_id]

    return read


def _ocr_record(reading_and_template, image, *, station: str, site: str, source: str, header=None):
    """The OCR reading's record; for a DICOM screen save, `header` (the header's record) adds what
    the save knows and the screen may not show: its study, accession number and the CT that made
    it (so a dose report built from the record later keeps the save's Study UID)."""
    from qcedge.records import record_from_reading

    reading, template = reading_and_template
    record = record_from_reading(reading, template, station=station, site=site, source=source, image=image)
    if header is not None:
        for name in SAVE_HEADER_FIELDS:
            fv = header.fields.get(name)
            if fv is not None and fv.valid and name not in record.fields:
                record.fields[name] = fv
    return record


# header fields of a DICOM screen save that its OCR record keeps (none of them personal)
SAVE_HEADER_FIELDS = ("study_instance_uid", "accession_number", "station_name", "manufacturer", "model",
                      "device_serial")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"[{len(value)}]"
    return str(value)


SUMMARY_FIELDS = ("modality", "station_name", "manufacturer", "model", "protocol", "series_description", "body_part",
                  "laterality", "kvp", "exposure_mas", "exposure_index", "deviation_index", "ctdivol", "total_dlp",
                  "total_events", "total_dap")


def _summary(path: str, kind: str, record, show_personal: bool) -> str:
    parts = []
    for name in SUMMARY_FIELDS:
        fv = record.fields.get(name)
        if fv is not None and fv.value is not None:
            parts.append(f"{name}={_show(fv.value)}")
    personal = [n for n, f in record.fields.items() if f.personal]
    if show_personal:
        parts += [f"{n}={_show(record.fields[n].value)}" for n in personal]
    elif personal:
        parts.append(f"personal fields hidden: {', '.join(personal)}")
    line = f"{path}: {kind} {record.status}; " + ", ".join(parts)
    series = record.fields.get("series")
    if series is not None and isinstance(series.value, list):
        for i, row in enumerate(series.value):
            cols = ", ".join(f"{k}={_show(v)}" for k, v in row.items() if k not in ("event_uid",))
            line += f"\n  acquisition {i + 1}: {cols}"
    for check in record.checks:
        line += f"\n  check {check.name}: {'ok' if check.ok else 'FAILED'} ({check.message})"
    return line


# --------------------------------------------------------------------------- read

def cmd_read(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicom_files import read_dicom
    from qcedge.connectors.errors import ConnectorError

    _quiet_libraries(args.verbose)
    ocr = _screen_reader(args.templates, args.engine)
    failures = unreadable = 0
    for name in args.files:
        try:
            reading = read_dicom(name, args.station, args.site, source=f"file:{Path(name).name}")
        except ConnectorError as exc:
            print(f"qcedge dicom read: {one_line(str(exc))}", file=sys.stderr)
            unreadable += 1
            continue
        record, kind = reading.record, reading.kind
        if reading.plugins:
            kind = f"{kind} (parsed by plugin {', '.join(reading.plugins)})"
        if reading.needs_ocr:
            if ocr is None:
                note = f"screen save, {reading.image.shape[1]}x{reading.image.shape[0]} image for OCR (give --templates)"
                if not args.json:
                    print(f"{name}: {note}")
                    continue
            else:
                found = ocr(reading.image)
                if found is None:
                    print(f"qcedge dicom read: {name}: screen save matches none of the templates", file=sys.stderr)
                    failures += 1
                    continue
                record = _ocr_record(found, reading.image, station=args.station, site=args.site, header=record,
                                     source=f"dicom-screen:{Path(name).name}")
                kind = f"screen read with {found[1].id}"
        if args.json:
            print(record.to_json(), flush=True)
        else:
            print(_summary(name, kind, record, args.show_personal), flush=True)
    return 2 if unreadable else 1 if failures else 0


# --------------------------------------------------------------------------- receive

class _RecordSink:
    """Append records as JSON lines (fsync'd) to a file, or print them."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()

    def __call__(self, record) -> None:
        line = record.to_json() + "\n"
        with self.lock:
            if self.path is None:
                sys.stdout.write(line)
                sys.stdout.flush()
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())


class _OutboxSink:
    """The station's privacy policy, then its durable outbox: the feed client sends from there."""

    def __init__(self, config_path: str) -> None:
        from qcedge.qc_client.outbox import Outbox
        from qcedge.config import ConfigError, load_config
        from qcedge.privacy import PrivacyPolicy

        try:
            self.config = load_config(config_path)
            self.policy = PrivacyPolicy.from_section(self.config.privacy)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        self.outbox = Outbox(self.config.feed.outbox)
        self.lock = threading.Lock()

    def __call__(self, record) -> None:
        identity = ["sop_instance_uid"] if record.kind == "dicom" else None
        safe = self.policy.apply(record, identity_fields=identity)
        with self.lock:
            self.outbox.put(safe)

    def close(self) -> None:
        self.outbox.close()


def make_store_handler(station: str, site: str, sink: Callable[[Any], None],
                       ocr: Callable | None = None) -> Callable:
    """The receiver's callback: stored file -> record (or OCR'd screen record) -> sink."""
    from qcedge.connectors.dicom_files import read_dicom
    from qcedge.connectors.errors import ConnectorError

    def handle(stored) -> None:
        source = f"dicom:{stored.calling_aet}"
        try:
            reading = read_dicom(stored.path, station, site, source=source)
        except ConnectorError as exc:
            log.error("received %s from %s, kept on disk, but it gives no record: %s",
                      stored.path.name, stored.calling_aet, exc)
            return
        record = reading.record
        if reading.needs_ocr:
            if ocr is None:
                log.warning("received screen save %s: no templates configured, kept on disk for OCR", stored.path.name)
                return
            found = ocr(reading.image)
            if found is None:
                log.warning("received screen save %s matches no template; kept on disk", stored.path.name)
                return
            record = _ocr_record(found, reading.image, station=station, site=site,
                                 source=f"dicom-screen:{stored.calling_aet}", header=record)
        sink(record)

    return handle


def cmd_receive(args: argparse.Namespace) -> int:
    from qcedge.connectors.receiver import Receiver, ReceiverConfig

    if not 0 <= args.port < 65536:
        raise UsageError(f"port {args.port} is out of range")
    if args.config and args.records:
        raise UsageError("give --config (records go to the station's outbox) or --records, not both")
    station, site, templates, engine = args.station, args.site, args.templates, args.engine
    sink: Any = None
    if args.config:
        sink = _OutboxSink(args.config)
        station, site = sink.config.station.id, sink.config.station.site
        if templates is None:
            folder = sink.config.templates.folder
            if any(folder.glob("*.yaml")) or any(folder.glob("*.yml")):
                templates, engine = str(folder), sink.config.templates.engine
            else:
                log.warning("the station's template folder %s has no templates: screen saves stay on disk", folder)
    _quiet_libraries(args.verbose)
    ssl_context = None
    if args.tls_cert:
        from qcedge.connectors.tls import TlsConfigError, server_context

        try:
            ssl_context = server_context(cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca)
        except TlsConfigError as exc:
            raise UsageError(str(exc)) from None
    elif args.tls_key or args.tls_ca:
        raise UsageError("--tls-key and --tls-ca need --tls-cert")
    ocr = _screen_reader(templates, engine)
    try:
        config = ReceiverConfig(ae_title=args.aet, host=args.host, port=args.port, store_dir=Path(args.store),
                                allowed_aets=args.allow, allowed_hosts=args.allow_host,
                                max_associations=args.max_associations, acse_timeout=args.acse_timeout,
                                dimse_timeout=args.dimse_timeout, network_timeout=args.network_timeout,
                                ssl_context=ssl_context)
        receiver = Receiver(config, make_store_handler(station, site, sink or _RecordSink(args.records), ocr))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.allow and not args.allow_host:
        log.warning("no --allow or --allow-host given: any caller may store objects here")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        receiver.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(f"qcedge dicom receive: {args.aet} listening on {args.host}:{receiver.port}"
          f"{' (TLS)' if ssl_context else ''}, storing to {args.store}",
          file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        receiver.stop()
        if isinstance(sink, _OutboxSink):
            sink.close()
        s = receiver.stats
        print(f"qcedge dicom receive: stopped; stored {s['stored']}, duplicates {s['duplicates']}, "
              f"store failures {s['store_failed']}, rejected {s['rejected']}, refused {s['refused']}, "
              f"recovered {s['recovered']}",
              file=sys.stderr, flush=True)
    return 0


# --------------------------------------------------------------------------- find / echo / send

def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def cmd_find(args: argparse.Namespace) -> int:
    from qcedge.connectors.errors import ConnectorError
    from qcedge.connectors.query import accession_for, find_studies, find_worklist

    peer = _peer(args.peer)
    kwargs = dict(calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=_tls_client(args))
    try:
        if args.at:
            if not args.patient_id:
                raise UsageError("--at needs --patient-id")
            try:
                when = datetime.fromisoformat(args.at)
            except ValueError:
                raise UsageError(f"--at '{args.at}' is not an ISO date-time (2026-11-27T09:41)") from None
            fill = accession_for(peer, args.patient_id, when, window=timedelta(hours=args.window_hours),
                                 modality=args.modality, source="worklist" if args.worklist else "study", **kwargs)
            if fill is None:
                print(f"qcedge dicom find: no procedure for that patient within {args.window_hours:g} h of {args.at}",
                      file=sys.stderr)
                return 1
            if args.json:
                print(json.dumps({k: _jsonable(getattr(fill, k)) for k in fill.__slots__}, ensure_ascii=False))
            else:
                print(fill.accession_number)
            return 0
        if args.worklist:
            items = find_worklist(peer, patient_id=args.patient_id, patient_name=args.patient_name, scheduled=args.date,
                                  modality=args.modality, station_aet=args.station_aet,
                                  accession_number=args.accession, charset=args.charset, **kwargs)
        else:
            items = find_studies(peer, patient_id=args.patient_id, patient_name=args.patient_name,
                                 study_date=args.date, accession_number=args.accession, modality=args.modality,
                                 charset=args.charset, **kwargs)
    except ConnectorError as exc:
        print(f"qcedge dicom find: {one_line(str(exc))}", file=sys.stderr)
        return 1
    for item in items:
        data = {k: _jsonable(getattr(item, k)) for k in item.__slots__ if k != "raw"}
        if not args.json:
            data = {k: v for k, v in data.items() if not isinstance(v, list) or k == "modalities"}
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            print("  ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", [])))
    if not args.json:
        print(f"{len(items)} match(es)", file=sys.stderr)
    return 0


def cmd_echo(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicom_net import echo
    from qcedge.connectors.errors import ConnectorError

    peer = _peer(args.peer)
    try:
        echo(peer, calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=_tls_client(args))
    except ConnectorError as exc:
        print(f"qcedge dicom echo: {one_line(str(exc))}", file=sys.stderr)
        return 1
    print(f"{peer}: C-ECHO ok")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicom_net import send
    from qcedge.connectors.errors import ConnectorError

    peer = _peer(args.peer)
    _quiet_libraries(args.verbose)
    if args.commit is not None and not 0 < args.commit <= 3600:
        raise UsageError(f"--commit {args.commit} must be a number of seconds above 0 (at most 3600)")
    try:
        results = send(peer, args.files, calling_aet=args.calling_aet, timeouts=_timeouts(args),
                       tls=_tls_client(args), commit=args.commit)
    except ConnectorError as exc:
        print(f"qcedge dicom send: {one_line(str(exc))}", file=sys.stderr)
        return 1
    bad = 0
    for r in results:
        print(f"{r.source}: {'sent' if r.ok else 'FAILED'}" + (f" ({one_line(r.message)})" if r.message else ""))
        bad += not r.ok or (args.commit is not None and r.committed is not True)
    return 1 if bad else 0


# --------------------------------------------------------------------------- rdsr

def _load_image(path: str):
    """(BGR image, the dataset if it is a DICOM screen save) from a PNG/JPEG or a DICOM file."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    with open(p, "rb") as f:
        head = f.read(132)
    if head[128:132] == b"DICM":
        from qcedge.connectors.dicom_files import read_dataset, screen_image
        from qcedge.connectors.errors import ConnectorError

        try:
            ds = read_dataset(p)
            return screen_image(ds, name=path), ds
        except ConnectorError as exc:
            raise UsageError(str(exc)) from None
    image = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if image is None:
        raise UsageError(f"{path}: not an image (PNG, JPEG, BMP, TIFF) or a DICOM file")
    return image, None


def _load_mapping(path: str | None):
    from qcedge.connectors.rdsr import DoseFieldMap

    if not path:
        return DoseFieldMap()
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError("expected a mapping of name: [field names]")
        return DoseFieldMap.from_mapping(data)
    except (OSError, yaml.YAMLError, ValueError, TypeError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _record_for_rdsr(args: argparse.Namespace):
    """(record, the screen save's dataset or None)."""
    from qcedge.qc_client.record import Record

    if args.record:
        try:
            return Record.from_json(Path(args.record).read_bytes()), None
        except OSError as exc:
            raise UsageError(f"{args.record}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"{args.record}: not a qcedge record ({str(exc).splitlines()[0]})") from None
    if not args.image:
        raise UsageError("--template needs an IMAGE")
    image, ds = _load_image(args.image)
    ocr = _screen_reader(args.template, args.engine)
    found = ocr(image)
    if found is None:
        raise UsageError(f"{args.image}: the template {args.template} does not match this image")
    record = _ocr_record(found, image, station=args.station, site=args.site, source=f"file:{Path(args.image).name}")
    return record, ds


def _device(args: argparse.Namespace, from_save):
    from qcedge.connectors.rdsr import DeviceObserver

    base = from_save or DeviceObserver()
    return DeviceObserver(name=args.device_name or base.name, manufacturer=args.device_manufacturer or base.manufacturer,
                          model=args.device_model or base.model, serial=args.device_serial or base.serial,
                          location=args.device_location or base.location)


def cmd_rdsr(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicom_net import send
    from qcedge.connectors.errors import ConnectorError, RdsrError
    from qcedge.connectors.query import accession_for
    from qcedge.connectors.rdsr import (
        StudyContext, build_ct_rdsr, exam_context, same_person_name, screen_text, study_from_dataset, write_rdsr,
    )

    _quiet_libraries(args.verbose)
    if not args.send and not args.out:
        raise UsageError("give --out FILE and/or --send AE@host:port")
    if args.commit is not None and not args.send:
        raise UsageError("--commit needs --send")
    if args.commit is not None and not 0 < args.commit <= 3600:
        raise UsageError(f"--commit {args.commit} must be a number of seconds above 0 (at most 3600)")
    send_peer = _peer(args.send) if args.send else None
    mwl_peer = _peer(args.mwl) if args.mwl else None
    tls = _tls_client(args)
    mapping = _load_mapping(args.mapping)
    record, save = _record_for_rdsr(args)
    study, saved_device = StudyContext(), None
    if save is not None:  # a CT's screen save: its header knows the study, the patient and the CT
        study, saved_device = study_from_dataset(save, "the screen save's header")
    flags: list[str] = []
    if mwl_peer is not None:
        patient_id, when = exam_context(record, mapping)
        patient_id = patient_id or study.patient_id
        if not patient_id:
            raise UsageError("--mwl needs the patient ID on the screen (no patient_id field in the record)")
        try:
            filled = accession_for(mwl_peer, patient_id, when, calling_aet=args.calling_aet, timeouts=_timeouts(args),
                                   tls=tls)
        except ConnectorError as exc:
            print(f"qcedge dicom rdsr: worklist query failed: {one_line(str(exc))}", file=sys.stderr)
            return 1
        if filled is None:
            log.warning("worklist %s has no procedure for the patient near %s; the SR's study UID is %s", mwl_peer,
                        when, "the screen save's" if study.study_instance_uid else "derived from the screen")
        else:
            study = study.merged(StudyContext(
                study_instance_uid=filled.study_instance_uid, accession_number=filled.accession_number,
                patient_name=filled.patient_name, patient_birth_date=filled.patient_birth_date,
                patient_sex=filled.patient_sex, patient_weight=filled.patient_weight,
                patient_size=filled.patient_size, admitting_diagnoses=filled.admitting_diagnoses,
                procedure_codes=filled.procedure_codes, admitting_codes=filled.admitting_codes,
                source=(study.source + " and " if study.source else "") + f"the worklist {mwl_peer}"))
            shown = screen_text(record, "patient_name", mapping) or (save is not None and str(save.get("PatientName", ""))) or ""
            if shown and filled.patient_name and not same_person_name(shown, filled.patient_name):
                flags.append(f"the patient name on the screen differs from the worklist's for accession "
                             f"{filled.accession_number}")
            if save is not None and save.get("StudyInstanceUID") and filled.study_instance_uid \
                    and str(save.StudyInstanceUID) != filled.study_instance_uid:
                log.warning("the screen save's study UID differs from the worklist's; the SR keeps the save's")
    try:
        ds = build_ct_rdsr(record, mapping=mapping, study=study, device=_device(args, saved_device), flags=flags,
                           allow_review=args.allow_review)
    except RdsrError as exc:
        print(f"qcedge dicom rdsr: {one_line(str(exc), 1000)}", file=sys.stderr)
        return 1
    summary: dict[str, Any] = {"sop_instance_uid": str(ds.SOPInstanceUID), "study_instance_uid": str(ds.StudyInstanceUID),
                               "accession_number": str(ds.AccessionNumber), "completion": str(ds.CompletionFlag),
                               "record_status": record.status}
    if flags:
        summary["flags"] = flags
    if args.out:
        summary["out"] = str(write_rdsr(ds, args.out))
    status = 0
    if send_peer is not None:
        try:
            results = send(send_peer, [ds], calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=tls,
                           commit=args.commit)
        except ConnectorError as exc:
            print(f"qcedge dicom rdsr: not sent: {one_line(str(exc))}", file=sys.stderr)
            results, status = [], 1
        for r in results:
            summary["sent"] = r.ok
            if args.commit is not None:
                summary["committed"] = r.committed
            if not r.ok:
                print(f"qcedge dicom rdsr: {send_peer} refused the SR: {one_line(r.message)}", file=sys.stderr)
                status = 1
            elif args.commit is not None and r.committed is not True:
                print(f"qcedge dicom rdsr: {send_peer} stored the SR but did not commit to it: {one_line(r.message)}",
                      file=sys.stderr)
                status = 1
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        where = [f"written to {summary['out']}"] if "out" in summary else []
        if summary.get("sent"):
            where.append(f"sent to {send_peer}" + (" (committed)" if summary.get("committed") else ""))
        print(f"dose report {summary['sop_instance_uid']} ({summary['completion']}) " + " and ".join(where))
    return status


# --------------------------------------------------------------------------- plugins

def cmd_plugins(args: argparse.Namespace) -> int:
    from qcedge.connectors.plugins import load_plugins

    plugins = load_plugins()
    if not plugins:
        print("no connector plugins installed (entry point group 'qcedge.connectors')")
        return 0
    bad = 0
    for p in plugins:
        origin = f"{p.distribution} {p.version}" if p.distribution else "?"
        if p.error:
            bad += 1
            print(f"{p.name}: {p.target} ({origin}) FAILED TO LOAD: {p.error}")
        else:
            kind = "DICOM parser" if p.is_dicom_parser else type(p.obj).__name__
            print(f"{p.name}: {p.target} ({origin}) {kind}")
    return 1 if bad else 0
