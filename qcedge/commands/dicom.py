"""`qcedge dicom`: read files, receive, query, send, echo, and build dose reports from screens.

Arguments and printing only: the wiring of `connectors` (DICOM I/O) to `ocr_templates`
(screen saves, dose screens) and the records' sinks is `qcedge.intake`, shared with the daemon.
Errors of ours propagate to `qcedge.cli.main` (a bad file or setting: exit 2; a peer that is
down or refuses: exit 1). One job, the seven actions' arguments and output, hence its length.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from qcedge.errors import UsageError, one_line
from qcedge.commands.connector_args import action_group, add_options
from qcedge.json_values import jsonable

log = logging.getLogger("qcedge.dicom")

_ENGINE = dict(default="ppocr", choices=["ppocr", "tesseract"], help="OCR engine for screen saves")
_SECONDS = dict(type=float, metavar="S")
_TLS_CLIENT = (
    ("--tls", dict(action="store_true",
                   help="DICOM over TLS (the peer's certificate is checked against --tls-ca, else the system CAs)")),
    ("--tls-ca", dict(metavar="FILE", help="CA certificate(s) that signed the peer's (implies --tls)")),
    ("--tls-cert", dict(metavar="FILE", help="our certificate, when the peer asks for one (implies --tls)")),
    ("--tls-key", dict(metavar="FILE", help="the private key of --tls-cert (if not in the same file)")),
    ("--tls-no-verify", dict(action="store_true", help="with TLS, accept any peer certificate (testing only)")),
)
_RECEIVE = (
    ("--aet", dict(default="QCEDGE", help="our AE title (default QCEDGE)")),
    ("--host", dict(default="0.0.0.0", help="address to listen on (default all)")),
    ("--port", dict(type=int, default=11112, help="port (default 11112)")),
    ("--store", dict(required=True, metavar="DIR", help="folder for received objects")),
    ("--allow", dict(action="append", default=[], metavar="AE", help="allowed calling AE title (repeat)")),
    ("--allow-host", dict(action="append", default=[], metavar="ADDR",
                          help="allowed caller address or network, e.g. 10.1.2.0/24 (repeat)")),
    ("--config", dict(metavar="station.toml",
                      help="the station's config: its id and site, privacy policy, template pack, and the feed's "
                           "outbox, where records then go (instead of --records/stdout)")),
    ("--records", dict(metavar="FILE", help="append records as JSON lines to FILE (default: stdout)")),
    ("--templates", dict(metavar="DIR|T.yaml", help="OCR screen saves with these templates")),
    ("--engine", _ENGINE),
    ("--max-associations", dict(type=int, default=20, metavar="N",
                                help="associations at once, counting connections not yet associated (default 20)")),
    ("--acse-timeout", dict(_SECONDS, default=10.0, help="a connection must ask for an association within S "
                                                         "seconds, or it is closed (default 10)")),
    ("--dimse-timeout", dict(_SECONDS, default=60.0, help="wait at most S seconds for the rest of a message "
                                                          "(default 60)")),
    ("--network-timeout", dict(_SECONDS, default=60.0, help="close an association idle for S seconds (default 60)")),
    ("--tls-cert", dict(metavar="FILE", help="accept DICOM over TLS only, with this certificate")),
    ("--tls-key", dict(metavar="FILE", help="the private key of --tls-cert (if not in the same file)")),
    ("--tls-ca", dict(metavar="FILE", help="with --tls-cert: callers must present a certificate signed by this CA")),
)
_FIND = (
    ("--worklist", dict(action="store_true", help="query the modality worklist (default: studies)")),
    *((flag, {}) for flag in ("--patient-id", "--patient-name")),
    ("--date", dict(help="YYYYMMDD or a range YYYYMMDD-YYYYMMDD")),
    *((flag, {}) for flag in ("--accession", "--modality")),
    ("--station-aet", dict(help="worklist: scheduled station AE title")),
    ("--at", dict(metavar="DATETIME", help="ISO time of the exam: print the best accession number only")),
    ("--window-hours", dict(type=float, default=6.0, help="with --at: how far from it to look (default 6)")),
    ("--charset", dict(default="ISO_IR 192", choices=["ISO_IR 192", "GB18030", "ISO_IR 100", "ISO_IR 6"],
                       help="Specific Character Set of the query (default ISO_IR 192, UTF-8); answers are read "
                            "in theirs")),
    ("--json", dict(action="store_true")),
)
_DEVICE = tuple((f"--device-{key}", dict(metavar=metavar, help=f"{what} (station config)")) for key, metavar, what in (
    ("name", "NAME", "the CT's name for the SR's device observer"), ("manufacturer", "TEXT", "the CT's manufacturer"),
    ("model", "TEXT", "the CT's model name"), ("serial", "TEXT", "the CT's serial number"),
    ("location", "TEXT", "where the CT is")))


# --------------------------------------------------------------------------- parser

def _station(q: argparse.ArgumentParser) -> None:
    q.add_argument("--station", default=socket.gethostname(), help="station id for records (default: host name)")
    q.add_argument("--site", default="local", help="site id for records (default: local)")


def _network(q: argparse.ArgumentParser) -> None:
    q.add_argument("--calling-aet", default="QCEDGE", metavar="AE", help="our AE title (default QCEDGE)")
    q.add_argument("--timeout", type=float, default=30.0, metavar="S", help="DIMSE timeout in seconds (default 30)")
    add_options(q, _TLS_CLIENT)


def _commit(q: argparse.ArgumentParser, help: str) -> None:
    q.add_argument("--commit", type=float, nargs="?", const=30.0, metavar="S", help=help)


def register(sub: argparse._SubParsersAction) -> None:
    d = action_group(sub, "dicom", help="DICOM files and network: read, receive, find, send, echo, rdsr",
                     description="Read DICOM files into records, run a DICOM receiver, query worklists and "
                                 "PACS, and build standard CT dose reports (RDSR) from dose screens.")

    q = d.add_parser("read", help="read DICOM files into records",
                     description="Read DICOM files (images, dose SRs, screen saves) into qcedge records. Exit 2 "
                                 "if a file cannot be read (one line each), 1 if a screen save matches no template.")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--json", action="store_true", help="print one record per line as JSON")
    q.add_argument("--templates", metavar="DIR|T.yaml", help="OCR screen saves with these templates")
    q.add_argument("--engine", **_ENGINE)
    q.add_argument("--show-personal", action="store_true", help="show personal fields in the summary (hidden by default)")
    _station(q)
    q.set_defaults(func=cmd_read)

    q = d.add_parser("receive", help="run a DICOM receiver (C-ECHO, C-STORE) that turns objects into records",
                     description="Accept C-STORE from modalities or PACS, store every object fsync'd, then make a "
                                 "record (or an OCR job for screen saves). Stops on Ctrl-C or SIGTERM.")
    add_options(q, _RECEIVE)
    _station(q)
    q.set_defaults(func=cmd_receive)

    q = d.add_parser("find", help="C-FIND a worklist or a PACS (study root)",
                     description="Query a modality worklist (--worklist) or a PACS at study level (default). "
                                 "With --at, print the accession number of the patient's procedure nearest that time.")
    q.add_argument("peer", metavar="AE@host:port")
    add_options(q, _FIND)
    _network(q)
    q.set_defaults(func=cmd_find)

    q = d.add_parser("echo", help="C-ECHO a peer")
    q.add_argument("peer", metavar="AE@host:port")
    _network(q)
    q.set_defaults(func=cmd_echo)

    q = d.add_parser("send", help="C-STORE files to a peer")
    q.add_argument("peer", metavar="AE@host:port")
    q.add_argument("files", nargs="+", metavar="FILE")
    _commit(q, "ask the peer for Storage Commitment and wait up to S seconds for its report (default 30)")
    _network(q)
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
    _commit(q, "with --send: ask for Storage Commitment and wait up to S seconds (default 30); "
               "exit 1 unless the SR is committed")
    add_options(q, _DEVICE)
    q.add_argument("--engine", **_ENGINE)
    q.add_argument("--json", action="store_true", help="print a JSON summary")
    _station(q)
    _network(q)
    q.set_defaults(func=cmd_rdsr)

    q = d.add_parser("plugins", help="list connector plugins found through entry points")
    q.set_defaults(func=cmd_plugins)


# --------------------------------------------------------------------------- helpers

def _peer(text: str) -> Any:
    from qcedge.connectors.peer import parse_peer

    return parse_peer(text)


def _timeouts(args: argparse.Namespace) -> Any:
    from qcedge.connectors.dicom_net import Timeouts

    if not 0 < args.timeout <= 86400:  # NaN fails this too
        raise UsageError(f"--timeout {args.timeout} must be a number of seconds above 0")
    return Timeouts(dimse=args.timeout, acse=min(args.timeout, 30.0))


def _commit_seconds(args: argparse.Namespace) -> None:
    if args.commit is not None and not 0 < args.commit <= 3600:
        raise UsageError(f"--commit {args.commit} must be a number of seconds above 0 (at most 3600)")


def _tls_client(args: argparse.Namespace) -> Any:
    """An ssl context when any --tls option is given, else None."""
    if not (args.tls or args.tls_ca or args.tls_cert or args.tls_no_verify):
        return None
    from qcedge.connectors.tls import client_context

    if args.tls_key and not args.tls_cert:
        raise UsageError("--tls-key needs --tls-cert")
    return client_context(ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key, verify=not args.tls_no_verify)


def _quiet_libraries(verbose: int) -> None:
    """pydicom's warnings (and its logger's) are about the files we name in our own messages;
    shown only with -v, so that the one line qcedge prints about a file is the line a person sees."""
    import warnings

    if verbose:
        return
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)  # its decoders log ERRORs with tracebacks
    warnings.filterwarnings("ignore", module=r"pydicom(\.|$)")


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"[{len(value)}]"
    return str(value)


SUMMARY_FIELDS = ("modality", "station_name", "manufacturer", "model", "protocol", "series_description", "body_part",
                  "laterality", "kvp", "exposure_mas", "exposure_index", "deviation_index", "ctdivol", "total_dlp",
                  "total_events", "total_dap")


def _summary(path: str, kind: str, record: Any, show_personal: bool) -> str:
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
    from qcedge.intake import ocr_record, screen_reader

    _quiet_libraries(args.verbose)
    ocr = screen_reader(args.templates, args.engine)
    failures = unreadable = 0
    for name in args.files:
        try:  # one line per file that cannot be read; the others are still read
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
                record = ocr_record(found, reading.image, station=args.station, site=args.site, header=record,
                                    source=f"dicom-screen:{Path(name).name}")
                kind = f"screen read with {found[1].id}"
        if args.json:
            print(record.to_json(), flush=True)
        else:
            print(_summary(name, kind, record, args.show_personal), flush=True)
    return 2 if unreadable else 1 if failures else 0


# --------------------------------------------------------------------------- receive

def cmd_receive(args: argparse.Namespace) -> int:
    from qcedge.connectors.receiver import Receiver, ReceiverConfig
    from qcedge.intake import OutboxSink, RecordSink, make_store_handler, screen_reader

    if not 0 <= args.port < 65536:
        raise UsageError(f"port {args.port} is out of range")
    if args.config and args.records:
        raise UsageError("give --config (records go to the station's outbox) or --records, not both")
    station, site, templates, engine = args.station, args.site, args.templates, args.engine
    outbox: OutboxSink | None = None
    if args.config:
        outbox = OutboxSink(args.config)
        station, site = outbox.config.station.id, outbox.config.station.site
        if templates is None:
            folder = outbox.config.templates.folder
            if any(folder.glob("*.yaml")) or any(folder.glob("*.yml")):
                templates, engine = str(folder), outbox.config.templates.engine
            else:
                log.warning("the station's template folder %s has no templates: screen saves stay on disk", folder)
    _quiet_libraries(args.verbose)
    ssl_context = None
    if args.tls_cert:
        from qcedge.connectors.tls import server_context

        ssl_context = server_context(cert=args.tls_cert, key=args.tls_key, ca=args.tls_ca)
    elif args.tls_key or args.tls_ca:
        raise UsageError("--tls-key and --tls-ca need --tls-cert")
    ocr = screen_reader(templates, engine)
    config = ReceiverConfig(ae_title=args.aet, host=args.host, port=args.port, store_dir=Path(args.store),
                            allowed_aets=args.allow, allowed_hosts=args.allow_host,
                            max_associations=args.max_associations, acse_timeout=args.acse_timeout,
                            dimse_timeout=args.dimse_timeout, network_timeout=args.network_timeout,
                            ssl_context=ssl_context)
    receiver = Receiver(config, make_store_handler(station, site, outbox or RecordSink(args.records), ocr))
    if not args.allow and not args.allow_host:
        log.warning("no --allow or --allow-host given: any caller may store objects here")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        receiver.start()
    except OSError as exc:  # the message says what could not be done
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    print(f"qcedge dicom receive: {args.aet} listening on {args.host}:{receiver.port}"
          f"{' (TLS)' if ssl_context else ''}, storing to {args.store}",
          file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        receiver.stop()
        if outbox is not None:
            outbox.close()
        s = receiver.stats
        print(f"qcedge dicom receive: stopped; stored {s['stored']}, duplicates {s['duplicates']}, "
              f"store failures {s['store_failed']}, rejected {s['rejected']}, refused {s['refused']}, "
              f"recovered {s['recovered']}",
              file=sys.stderr, flush=True)
    return 0


# --------------------------------------------------------------------------- find / echo / send

def _find_at(args: argparse.Namespace, peer: Any, kwargs: dict[str, Any]) -> int:
    from qcedge.connectors.query import accession_for

    if not args.patient_id:
        raise UsageError("--at needs --patient-id")
    try:
        when = datetime.fromisoformat(args.at)
    except ValueError:
        raise UsageError(f"--at '{args.at}' is not an ISO date-time (2026-11-27T09:41)") from None
    if not 0 < args.window_hours <= 24 * 365:  # also refuses nan
        raise UsageError(f"--window-hours must be more than 0 and at most a year, got {args.window_hours:g}")
    fill = accession_for(peer, args.patient_id, when, window=timedelta(hours=args.window_hours),
                         modality=args.modality, source="worklist" if args.worklist else "study", **kwargs)
    if fill is None:
        print(f"qcedge dicom find: no procedure for that patient within {args.window_hours:g} h of {args.at}",
              file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({k: jsonable(getattr(fill, k)) for k in fill.__slots__}, ensure_ascii=False))
    else:
        print(fill.accession_number)
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    from qcedge.connectors.query import find_studies, find_worklist

    peer = _peer(args.peer)
    kwargs = dict(calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=_tls_client(args))
    if args.at:
        return _find_at(args, peer, kwargs)
    if args.worklist:
        items: list[Any] = find_worklist(
            peer, patient_id=args.patient_id, patient_name=args.patient_name, scheduled=args.date,
            modality=args.modality, station_aet=args.station_aet, accession_number=args.accession,
            charset=args.charset, **kwargs)
    else:
        items = find_studies(peer, patient_id=args.patient_id, patient_name=args.patient_name, study_date=args.date,
                             accession_number=args.accession, modality=args.modality, charset=args.charset, **kwargs)
    for item in items:
        data = {k: jsonable(getattr(item, k)) for k in item.__slots__ if k != "raw"}
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

    peer = _peer(args.peer)
    echo(peer, calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=_tls_client(args))
    print(f"{peer}: C-ECHO ok")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    from qcedge.connectors.dicom_net import send

    peer = _peer(args.peer)
    _quiet_libraries(args.verbose)
    _commit_seconds(args)
    results = send(peer, args.files, calling_aet=args.calling_aet, timeouts=_timeouts(args),
                   tls=_tls_client(args), commit=args.commit)
    bad = 0
    for r in results:
        print(f"{r.source}: {'sent' if r.ok else 'FAILED'}" + (f" ({one_line(r.message)})" if r.message else ""))
        bad += not r.ok or (args.commit is not None and r.committed is not True)
    return 1 if bad else 0


# --------------------------------------------------------------------------- rdsr

def _dose_inputs(args: argparse.Namespace, tls: Any) -> tuple[Any, Any, Any]:
    """(record, mapping, DoseInputs): the screen read (or the record loaded), the study and device
    from the screen save and the station config, filled from the worklist when --mwl is given."""
    from qcedge.connectors.query import accession_for
    from qcedge.connectors.rdsr import exam_context
    from qcedge.intake.dose_report import apply_worklist, dose_inputs, load_dose_mapping, load_record, read_dose_screen

    mwl_peer = _peer(args.mwl) if args.mwl else None
    mapping = load_dose_mapping(args.mapping)
    if args.record:
        record, save = load_record(args.record), None
    elif not args.image:
        raise UsageError("--template needs an IMAGE")
    else:
        record, save = read_dose_screen(args.image, args.template, args.engine, station=args.station, site=args.site)
    inputs = dose_inputs(save, {"name": args.device_name, "manufacturer": args.device_manufacturer,
                                "model": args.device_model, "serial": args.device_serial,
                                "location": args.device_location})
    if mwl_peer is not None:
        patient_id, when = exam_context(record, mapping)
        patient_id = patient_id or inputs.study.patient_id
        if not patient_id:
            raise UsageError("--mwl needs the patient ID on the screen (no patient_id field in the record)")
        fill = accession_for(mwl_peer, patient_id, when, calling_aet=args.calling_aet, timeouts=_timeouts(args),
                             tls=tls)
        apply_worklist(inputs, record, mapping, fill, mwl_peer, when)
    return record, mapping, inputs


def _send_sr(args: argparse.Namespace, peer: Any, ds: Any, tls: Any, summary: dict[str, Any]) -> int:
    """C-STORE the SR (and ask for commitment); 1 when it was not stored (or not committed)."""
    from qcedge.connectors.dicom_net import send
    from qcedge.connectors.errors import DicomNetworkError

    try:
        results = send(peer, [ds], calling_aet=args.calling_aet, timeouts=_timeouts(args), tls=tls,
                       commit=args.commit)
    except DicomNetworkError as exc:  # the SR was built (and written): the summary still says so
        print(f"qcedge dicom rdsr: not sent: {one_line(str(exc))}", file=sys.stderr)
        return 1
    status = 0
    for r in results:
        summary["sent"] = r.ok
        if args.commit is not None:
            summary["committed"] = r.committed
        if not r.ok:
            print(f"qcedge dicom rdsr: {peer} refused the SR: {one_line(r.message)}", file=sys.stderr)
            status = 1
        elif args.commit is not None and r.committed is not True:
            print(f"qcedge dicom rdsr: {peer} stored the SR but did not commit to it: {one_line(r.message)}",
                  file=sys.stderr)
            status = 1
    return status


def cmd_rdsr(args: argparse.Namespace) -> int:
    from qcedge.connectors.errors import RdsrError
    from qcedge.connectors.rdsr import build_ct_rdsr, write_rdsr

    _quiet_libraries(args.verbose)
    if not args.send and not args.out:
        raise UsageError("give --out FILE and/or --send AE@host:port")
    if args.commit is not None and not args.send:
        raise UsageError("--commit needs --send")
    _commit_seconds(args)
    send_peer = _peer(args.send) if args.send else None
    tls = _tls_client(args)
    record, mapping, inputs = _dose_inputs(args, tls)
    try:
        ds = build_ct_rdsr(record, mapping=mapping, study=inputs.study, device=inputs.device, flags=inputs.flags,
                           allow_review=args.allow_review)
    except RdsrError as exc:  # the record was read and checked: it needs review (a finding, exit 1)
        print(f"qcedge dicom rdsr: {one_line(str(exc), 1000)}", file=sys.stderr)
        return 1
    summary: dict[str, Any] = {"sop_instance_uid": str(ds.SOPInstanceUID), "study_instance_uid": str(ds.StudyInstanceUID),
                               "accession_number": str(ds.AccessionNumber), "completion": str(ds.CompletionFlag),
                               "record_status": record.status}
    if inputs.flags:
        summary["flags"] = inputs.flags
    if args.out:
        summary["out"] = str(write_rdsr(ds, args.out))
    status = _send_sr(args, send_peer, ds, tls, summary) if send_peer is not None else 0
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
