"""`qcedge doctor`: is this station healthy? One check per part, each with a verdict and what it saw.

Each check is bounded in time (a hung display or source gives a verdict, not a hung doctor) and
never shows field values, keys or the site secret. A check is `ok`, `FAIL`, or `skip` (does not
apply, or could not be measured: it does not fail the station).
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from qcedge.config import StationConfig, check_paths

log = logging.getLogger(__name__)

CLOCK_TOLERANCE = 5.0     # seconds the station's clock may differ from central's
CENTRAL_TIMEOUT = 5.0     # seconds to wait for central's answer to a heartbeat
SOURCE_TIMEOUT = 20.0     # seconds to open a source and get frames from it
SOURCE_FRAMES = 10        # frames looked at for a signal


@dataclass
class Check:
    """One verdict: ok True (pass), False (FAIL) or None (skip: does not apply / not measured)."""

    name: str
    ok: bool | None
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "ok", False: "FAIL", None: "skip"}[self.ok]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def _bounded(name: str, fn: Callable[[], Check], timeout: float) -> Check:
    """Run a check in a thread; a check that does not finish in time FAILs (the thread is left behind)."""
    out: list[Check] = []

    def target() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - every failure is a verdict
            log.debug("check %s failed", name, exc_info=True)
            out.append(Check(name, False, f"{type(exc).__name__}: {_one_line(str(exc))}"))

    thread = threading.Thread(target=target, name=f"doctor-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if not out:
        return Check(name, False, f"no answer within {timeout:g} s (hung?)")
    return out[0]


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- display and source -------------------------------------------------------------------------------

def display_name(config: StationConfig) -> str:
    """The display the daemon uses: $DISPLAY here, else the unit's ([service] display)."""
    return os.environ.get("DISPLAY") or config.service.display


def check_display(config: StationConfig) -> Check:
    spec = config.source_spec()
    if spec.kind != "screen":
        return Check("display", None, f"not needed ({spec.kind} source)")
    name = display_name(config)

    def probe() -> Check:
        from Xlib import display as xdisplay  # python-xlib, installed with pyautogui

        try:
            d = xdisplay.Display(name)
        except Exception as exc:  # noqa: BLE001 - Xlib raises many kinds
            return Check("display", False, f"display {name} not reachable: {_one_line(str(exc)) or type(exc).__name__}")
        try:
            screen = d.screen()
            size = (screen.width_in_pixels, screen.height_in_pixels)
        finally:
            d.close()
        return Check("display", True, f"display {name} reachable, {size[0]}x{size[1]}", {"display": name})

    return _bounded("display", probe, 10.0)


def check_source(config: StationConfig) -> Check:
    """The source opens and gives frames, and they show a signal (not a black/blue/flat screen)."""

    def probe() -> Check:
        from qcedge.capture import SourceError
        from qcedge.capture.factory import make_source
        from qcedge.capture.nosignal import NoSignalDetector

        spec = config.source_spec()
        if spec.kind == "screen" and not os.environ.get("DISPLAY"):
            os.environ["DISPLAY"] = display_name(config)
        if spec.kind == "file" or spec.kind == "folder":
            spec = spec.model_copy(update={"pace": 0.0} if spec.kind == "file" else {"fps": None})
        source = make_source(spec)
        detector = NoSignalDetector()
        try:
            source.open()
            frames = 0
            last = None
            for _ in range(SOURCE_FRAMES):
                frame = source.read()
                if frame is None:
                    break
                frames += 1
                last = detector.check(frame)
                if not last.no_signal:
                    h, w = frame.image.shape[:2]
                    return Check("source", True, f"{spec.source_id}: frames arrive ({w}x{h}), signal present",
                                 {"frames": frames})
        except SourceError as exc:
            return Check("source", False, f"{spec.source_id}: {_one_line(str(exc))}")
        finally:
            try:
                source.close()
            except Exception:  # noqa: BLE001
                pass
        if frames == 0:
            return Check("source", False, f"{spec.source_id}: opened but gave no frame")
        return Check("source", False, f"{spec.source_id}: {frames} frames, all 'no signal' "
                                      f"({last.kind if last else '?'} screen): check the cable, input or screen saver",
                     {"frames": frames})

    return _bounded("source", probe, SOURCE_TIMEOUT)


# ---- templates and OCR ------------------------------------------------------------------------------------

def check_ocr(engine_name: str, model_dir: str | Path | None = None) -> Check:
    """The OCR engine and its models load, and it reads a line it was shown."""
    import cv2
    import numpy as np

    def probe() -> Check:
        if engine_name == "ppocr" and model_dir is not None:
            from qcedge.ocr_templates.engines.ppocr import PpOcrEngine

            engine: Any = PpOcrEngine(model_dir=model_dir)
        else:
            from qcedge.ocr_templates import get_engine

            engine = get_engine(engine_name)
        image = np.full((48, 220, 3), 255, np.uint8)
        cv2.putText(image, "QC 2468", (8, 36), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 2, cv2.LINE_AA)
        got = engine.recognize([image])[0]
        if "2468" not in got.text.replace(" ", ""):
            return Check("ocr", False, f"{engine_name}: loaded, but read a test line 'QC 2468' as {got.text!r}")
        return Check("ocr", True, f"{engine_name}: models loaded, test line read (confidence {got.confidence:.2f})")

    return _bounded("ocr", probe, 120.0)


def _anchor_texts(template: Any, image: Any, engine: Any) -> list[str]:
    """Text anchors that do not say their text on the template's own reference (a replaced or edited reference)."""
    import cv2

    from qcedge.ocr_templates.text_confirm import text_agrees
    from qcedge.ocr_templates.preprocess import prepare_crop

    wrong = []
    for anchor in template.anchors:
        if not anchor.text:
            continue
        x, y, w, h = anchor.box.as_tuple()
        crop = image[max(0, y):y + h, max(0, x):x + w]
        prepared = prepare_crop(cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)) \
            if crop.size else None
        text = engine.recognize([prepared])[0].text if prepared is not None else ""
        if not text_agrees(text, anchor.text):
            wrong.append(f"anchor {anchor.name} reads {_one_line(text, 60)!r}, expected {anchor.text!r}")
    return wrong


def check_templates(config: StationConfig) -> Check:
    """The pack loads, and every template matches its own reference image (as itself), its text anchors saying
    their texts there."""

    def probe() -> Check:
        import cv2

        from qcedge.ocr_templates import Matcher, TemplateError, get_engine, load_templates

        folder = config.templates.folder
        try:
            templates = load_templates(folder)
        except TemplateError as exc:
            return Check("templates", False, f"{folder}: {_one_line(str(exc))}")
        if not templates:
            return Check("templates", False, f"{folder}: no templates")
        try:
            engine: Any = get_engine(config.templates.engine)
        except Exception:  # noqa: BLE001 - the ocr check names it; pictures are still compared
            engine = None
        matcher = Matcher(templates, engine=engine)
        bad: list[str] = []
        scores: dict[str, float] = {}
        for t in templates:
            image = cv2.imread(str(t.reference_path)) if t.reference_path is not None else None
            if image is None:
                bad.append(f"{t.id}: reference image {t.reference_path} missing or unreadable")
                continue
            result = matcher.match(image, t.id)
            scores[t.id] = round(result.score, 3)
            if not result.matched:
                bad.append(f"{t.id} does not match its own reference (score {result.score:.2f})")
                continue
            wrong = _anchor_texts(t, image, engine) if engine is not None else []
            if wrong:
                bad.append(f"{t.id} does not match its own reference: {', '.join(wrong)}")
                continue
            best = matcher.best(image)
            if best is not None and best.template_id != t.id:
                bad.append(f"{t.id}'s reference is taken for {best.template_id}")
        if bad:
            return Check("templates", False, f"{folder}: " + "; ".join(bad), {"scores": scores})
        return Check("templates", True, f"{len(templates)} templates load and each matches its own reference",
                     {"scores": scores})

    return _bounded("templates", probe, 120.0)


# ---- central and the clock ----------------------------------------------------------------------------------

def check_central(config: StationConfig, timeout: float = CENTRAL_TIMEOUT) -> tuple[Check, Check]:
    """A heartbeat round trip to central (with the CURVE keys when configured); the clock offset from it."""
    import zmq

    from qcedge.qc_client.keys import ClientKeys, KeyFileError
    from qcedge.qc_client.protocol import ProtocolError, decode, encode, utc_now_iso

    feed = config.feed
    endpoint = feed.endpoint.split(",")[0].strip()
    not_measured = Check("clock", None, "not measured (no answer from central)")
    keys = None
    if feed.server_key is not None and feed.station_key is not None:
        try:
            keys = ClientKeys.from_files(feed.station_key, feed.server_key)
        except (KeyFileError, OSError) as exc:
            return Check("central", False, f"CURVE keys: {_one_line(str(exc))}"), not_measured
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        sock.linger = 0
        sock.setsockopt(zmq.RECONNECT_IVL, 200)
        if keys is not None:
            sock.curve_secretkey, sock.curve_publickey, sock.curve_serverkey = \
                keys.secret, keys.public, keys.server_public
        monitor = sock.get_monitor_socket()
        sock.connect(endpoint)
        t_send = time.time()
        sock.send_multipart(encode("heartbeat", {"station": config.station.id, "interval": 2.0,
                                                 "sent_at": utc_now_iso()}))
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None and (left := deadline - time.monotonic()) > 0:
            events = dict(poller.poll(left * 1000))
            if monitor in events:
                from zmq.utils.monitor import recv_monitor_message

                while monitor.poll(0):
                    seen.add(recv_monitor_message(monitor)["event"])
            if sock in events:
                try:
                    msg = decode(sock.recv_multipart())
                except ProtocolError:
                    continue
                if msg.kind == "heartbeat":
                    reply = msg
        t_recv = time.time()
        sock.disable_monitor()
        monitor.close(linger=0)
    finally:
        sock.close(linger=0)
        ctx.term()
    curve = " with CURVE" if keys is not None else ""
    if reply is None:
        failed = {zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                  zmq.EVENT_HANDSHAKE_FAILED_AUTH}
        if seen & failed:
            why = ("the CURVE handshake failed: central refused this station's key (not on its allow-list?)"
                   if zmq.EVENT_HANDSHAKE_FAILED_AUTH in seen else
                   "the CURVE handshake failed: wrong server key, or CURVE on one side only")
        elif zmq.EVENT_CONNECTED in seen and keys is not None:
            why = "connected, but no answer: the CURVE handshake did not complete (wrong server key?)"
        elif zmq.EVENT_CONNECTED in seen:
            why = "connected, but no answer to a heartbeat: not a qcedge receiver, or it expects CURVE"
        else:
            why = "unreachable (nothing listening there, or the network is down)"
        return Check("central", False, f"{endpoint}: {why} (waited {timeout:g} s)"), not_measured
    rtt = t_recv - t_send
    central_ok = Check("central", True, f"{endpoint}: heartbeat answered{curve} in {rtt * 1000:.0f} ms",
                       {"round_trip_ms": round(rtt * 1000, 1)})
    sent_at = reply.header.get("sent_at")
    try:
        central_time = datetime.fromisoformat(sent_at).timestamp()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return central_ok, Check("clock", None, "not measured (central's heartbeat carries no time)")
    offset = central_time - (t_send + t_recv) / 2  # central's clock minus ours, at the middle of the round trip
    data = {"offset_s": round(offset, 3), "uncertainty_s": round(rtt / 2, 3)}
    if abs(offset) > CLOCK_TOLERANCE + rtt / 2:
        ahead = "behind" if offset > 0 else "ahead of"
        return central_ok, Check("clock", False, f"this station's clock is {abs(offset):.1f} s {ahead} central's "
                                                 f"(more than {CLOCK_TOLERANCE:g} s): set up NTP / timesyncd", data)
    return central_ok, Check("clock", True, f"within {abs(offset):.2f} s of central's (±{rtt / 2:.3f} s)", data)


# ---- outbox and disk ----------------------------------------------------------------------------------------

def _service_account(config: StationConfig) -> tuple[str, int, set[int]] | None:
    """(name, uid, gids) of the service user when the doctor runs as root and that user exists."""
    if os.geteuid() != 0:
        return None
    import grp
    import pwd

    try:
        pw = pwd.getpwnam(config.service.user)
    except KeyError:
        return None
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if pw.pw_name in g.gr_mem}
    return pw.pw_name, pw.pw_uid, gids


def _writable_by(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def _existing_folder(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def check_outbox(config: StationConfig) -> Check:
    """The outbox can be written (by the service user, when run as root), its schema is readable, its depth."""
    from qcedge.qc_client.outbox import SCHEMA_VERSION, OutboxSchemaError, read_schema

    path = config.feed.outbox
    folder = _existing_folder(path)
    account = _service_account(config)
    targets = [folder] + ([path] if path.exists() else [])
    if account is not None:
        name, uid, gids = account
        for target in targets:
            if not _writable_by(target, uid, gids):
                st = target.stat()
                return Check("outbox", False, f"{target} is not writable by the service user {name} "
                                              f"(owner uid {st.st_uid}, mode {stat.filemode(st.st_mode)}): "
                                              f"chown it to {name}")
    else:
        for target in targets:
            if not os.access(target, os.W_OK):
                return Check("outbox", False, f"{target} is not writable (read-only file system or permissions)")
    if not path.exists():
        return Check("outbox", True, f"{path} will be created on first start (folder writable)", {"depth": 0})
    try:
        version = read_schema(path)
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            depth = db.execute("SELECT count(*) FROM outbox WHERE state='pending'").fetchone()[0]
            rejected = db.execute("SELECT count(*) FROM outbox WHERE state='rejected'").fetchone()[0]
            oldest = db.execute("SELECT min(created_at) FROM outbox WHERE state='pending'").fetchone()[0]
        finally:
            db.close()
    except OutboxSchemaError as exc:
        return Check("outbox", False, str(exc))
    except sqlite3.Error as exc:
        return Check("outbox", False, f"{path}: cannot read it: {exc}")
    if not os.access(path, os.W_OK) and account is None:
        return Check("outbox", False, f"{path} is read-only")
    age = f", oldest waiting {(time.time() - oldest) / 3600:.1f} h" if oldest else ""
    note = f" (schema {version}, migrated to {SCHEMA_VERSION} on the next start)" if version < SCHEMA_VERSION else ""
    detail = f"{path}: {depth} waiting for central's ack{age}" + (f", {rejected} rejected" if rejected else "") + note
    return Check("outbox", True, detail, {"depth": depth, "rejected": rejected, "schema": version})


def check_disk(config: StationConfig) -> Check:
    folder = _existing_folder(config.feed.outbox)
    usage = shutil.disk_usage(folder)
    free_mb = usage.free / 2**20
    floor = config.service.min_free_mb
    data = {"free_mb": round(free_mb, 1), "floor_mb": floor, "folder": str(folder)}
    if free_mb < floor:
        return Check("disk", False, f"{folder}: only {free_mb:.0f} MB free (under [service] min_free_mb = {floor:g}): "
                                    f"the outbox and logs need room", data)
    return Check("disk", True, f"{folder}: {free_mb / 1024:.1f} GB free", data)


def check_paths_of(config: StationConfig) -> Check:
    problems = check_paths(config)
    if problems:
        return Check("paths", False, "; ".join(p.split(": ", 1)[-1] for p in problems))
    return Check("paths", True, "every configured file and folder usable")


# ---- all ---------------------------------------------------------------------------------------------------

def run_checks(config: StationConfig) -> list[Check]:
    """Every check, in the order they are shown."""
    checks = [check_paths_of(config), check_display(config), check_source(config),
              check_templates(config), check_ocr(config.templates.engine)]
    try:
        central, clock = check_central(config)
    except Exception as exc:  # noqa: BLE001
        central, clock = Check("central", False, f"{type(exc).__name__}: {_one_line(str(exc))}"), \
            Check("clock", None, "not measured")
    checks += [central, clock]
    for fn in (check_outbox, check_disk):
        try:
            checks.append(fn(config))
        except Exception as exc:  # noqa: BLE001
            checks.append(Check(fn.__name__.removeprefix("check_"), False, f"{type(exc).__name__}: {exc}"))
    return checks
