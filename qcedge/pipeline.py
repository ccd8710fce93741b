"""The capture pipeline for one frame at a time.

    frame -> no-signal check -> change detection -> settle -> match + read
          -> record identity -> privacy -> outbox (the sink)

OCR runs only once per settled screen. A bad frame or an OCR exception is
logged and counted and never leaves this module.

A reading with fields that the pointer or another window covers is held back:
the technologist usually moves the mouse or closes the message within seconds,
and the next settled view of the same screen is read instead. After
`covered_wait` seconds (or when another screen settles) the held reading is
sent as it is, its covered fields marked for review; if its screen was already
recorded, a covered view cannot add a trustworthy value and is dropped.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from qcedge.capture import Frame
from qcedge.ocr_templates.model import Template
from qcedge.ocr_templates.results import ScreenReading
from qcedge.qc_client.protocol import MessageTooLarge
from qcedge.qc_client.record import Record
from qcedge.health import Health
from qcedge.privacy import PrivacyPolicy
from qcedge.records import record_from_reading
from qcedge.seen import SeenScreens

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Held:
    """A settled reading with covered fields, waiting for a clearer view of the same screen."""

    frame: Frame
    reading: ScreenReading
    deadline: float


def covered_fields(reading: ScreenReading) -> list[str]:
    """Names of fields (and table cells) that something covers (not those outside the frame)."""
    out = []
    for name, f in reading.fields.items():
        cells = [(name, f)] if f.rows is None else [(c.name, c) for row in f.rows for c in row.values()]
        out += [n for n, c in cells if c.hidden and "outside" not in c.hidden]
    return out


@dataclass(slots=True)
class Made:
    """A record that went to the outbox, with the time its screen settled (monotonic)."""

    record: Record
    settled_t: float
    reason: str


class Detectors:
    """The capture package's change, settle and no-signal detectors, sharing one change detector.

    The no-signal check runs only on frames that changed: an unchanged frame is near-identical to
    the last changed one, so its verdict stands (this halves the cost of an idle screen).
    """

    def __init__(self, settle_frames: int = 3, change_threshold: float | None = None) -> None:
        from qcedge.capture import ChangeDetector, NoSignalDetector, SettleDetector

        change = ChangeDetector(threshold=change_threshold) if change_threshold is not None else ChangeDetector()
        self.settle = SettleDetector(frames=settle_frames, detector=change)
        self.no_signal = NoSignalDetector()
        self._no_signal: bool | None = None

    def update(self, frame: Frame) -> tuple[bool, bool, bool]:
        """(no_signal, changed, settled) for this frame; settled is True once per settled screen."""
        u = self.settle.update(frame)
        if u.changed or self._no_signal is None:
            self._no_signal = bool(self.no_signal.update(frame).no_signal)
        return self._no_signal, u.changed, u.settled


def values_digest(record: Record) -> str:
    """A digest of what the screen said (typed values, not confidences)."""
    values = {name: fv.value if fv.rows is None else [{k: c.value for k, c in row.items()} for row in fv.rows]
              for name, fv in sorted(record.fields.items())}
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:32]


class Pipeline:
    """Turns frames into records.

    `sink(made)` commits `made.record` to the outbox (and returns once it is durable);
    `on_made(made)` is told afterwards.
    """

    def __init__(
        self,
        *,
        station: str,
        site: str,
        reader: Any,
        templates: list[Template],
        detectors: Detectors,
        seen: SeenScreens,
        policy: PrivacyPolicy,
        sink: Callable[[Made], None],
        health: Health,
        unknown_folder: Path | None = None,
        max_unknown_saved: int = 200,
        on_made: Callable[[Made], None] | None = None,
        covered_wait: float = 10.0,
    ) -> None:
        self.station, self.site = station, site
        self.reader = reader
        self.templates = {t.id: t for t in templates}
        self.detectors = detectors
        self.seen = seen
        self.policy = policy
        self.sink = sink
        self.health = health
        self.unknown_folder = unknown_folder
        self.max_unknown_saved = max_unknown_saved
        self.on_made = on_made
        self.covered_wait = covered_wait
        self._held: _Held | None = None
        self.kb_version: int | None = None  # the knowledge-base release the reader and rules come from
        self.rules: Any = None  # the release's rule set, evaluated at the edge (qc_client.rules.RuleSet)
        self._pending: tuple[Any, list[Template], Any, int | None] | None = None

    def swap(self, reader: Any, templates: list[Template], rules: Any, kb_version: int | None) -> None:
        """Run another release from the next frame on (a frame is read wholly with one release or the other)."""
        self._pending = (reader, templates, rules, kb_version)

    def _take_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        self.flush_held()  # a covered screen waiting is recorded with the templates it was read with
        reader, templates, rules, version = pending
        self.reader, self.templates, self.rules, self.kb_version = reader, {t.id: t for t in templates}, rules, version
        log.info("knowledge-base release switched", extra={"ctx": {"event": "kb_switch", "kb_version": version,
                                                                   "templates": len(templates)}})

    # ---- per frame -------------------------------------------------------

    def handle(self, frame: Frame) -> Made | None:
        """Look at one frame. Never raises for a bad frame or an OCR failure."""
        h = self.health
        h.frames_seen += 1
        if self._pending is not None:
            self._take_pending()
        try:
            if not _valid_image(frame.image):
                raise ValueError(f"bad frame: {_describe(frame.image)}")
            t0 = time.perf_counter()
            no_signal, changed, settled = self.detectors.update(frame)
            h.latencies.add("change", time.perf_counter() - t0)
            if no_signal:
                h.no_signal_frames += 1  # a capture card's black or blue screen: never OCRed
                return None
        except Exception as exc:  # noqa: BLE001 - a bad frame must never stop the daemon
            h.frame_errors += 1
            h.error(f"frame {frame.index}: {type(exc).__name__}: {exc}")
            log.warning("frame skipped", extra={"ctx": {"event": "frame_error", "frame": frame.index, "error": type(exc).__name__}})
            return None
        if changed:
            h.frames_changed += 1
        if not settled:
            if self._held is not None and frame.t >= self._held.deadline:
                return self.flush_held()
            return None
        h.screens_settled += 1
        return self.on_settled(frame)

    def on_settled(self, frame: Frame) -> Made | None:
        """Match and read a settled screen, and make its record if it is new."""
        h = self.health
        settled_t = frame.t
        try:
            reading = self.reader.process(frame.image)
        except Exception as exc:  # noqa: BLE001 - an OCR failure must never stop the daemon
            h.ocr_errors += 1
            h.error(f"OCR failed on frame {frame.index}: {type(exc).__name__}: {exc}")
            log.error("OCR failed", extra={"ctx": {"event": "ocr_error", "frame": frame.index, "error": type(exc).__name__}})
            return None
        if reading is None:
            made = self.flush_held()
            self._unknown(frame)
            return made
        h.screens_matched += 1
        match_s = float(getattr(reading.match, "seconds", 0.0) or 0.0)
        h.latencies.add("match", match_s)
        h.latencies.add("read", max(0.0, float(reading.seconds or 0.0) - match_s))
        held = self._held
        if held is not None and held.reading.template_id != reading.template_id:
            self.flush_held()
            held = None
        if covered_fields(reading):
            h.covered_waits += 1
            if held is None:
                log.info("covered fields: waiting for a clearer view", extra={"ctx": {
                    "event": "covered_wait", "template": reading.template_id, "fields": len(covered_fields(reading))}})
            deadline = held.deadline if held is not None else frame.t + self.covered_wait
            self._held = _Held(frame, reading, deadline)
            if self.covered_wait <= 0:
                return self.flush_held()
            return None
        self._held = None   # a clear view of the screen replaces the covered one
        return self._make(frame, reading, settled_t)

    def flush_held(self) -> Made | None:
        """Send the held (covered) reading now, its covered fields marked; None when nothing is held."""
        held, self._held = self._held, None
        if held is None:
            return None
        return self._make(held.frame, held.reading, held.frame.t, covered=True)

    def _make(self, frame: Frame, reading: ScreenReading, settled_t: float, covered: bool = False) -> Made | None:
        h = self.health
        try:
            return self._record(frame, reading, settled_t, covered)
        except Exception as exc:  # noqa: BLE001
            h.error(f"record failed for {reading.template_id}: {type(exc).__name__}: {exc}")
            log.exception("record failed", extra={"ctx": {"event": "record_error", "template": reading.template_id}})
            return None

    # ---- parts -------------------------------------------------------------

    def _record(self, frame: Frame, reading: ScreenReading, settled_t: float, covered: bool = False) -> Made | None:
        h = self.health
        t0 = time.perf_counter()
        template = self.templates[reading.template_id]
        record = record_from_reading(
            reading, template, station=self.station, site=self.site, source=frame.source_id,
            captured_at=datetime.fromtimestamp(frame.wall_time, timezone.utc), image=frame.image,
        )
        if self.policy.section.attach_crops:
            record.evidence.crops.update(_crops(frame.image, reading))
        raw_values = values_digest(record)
        record = self.policy.apply(record, template.identity or None)
        identity = record.identity or ""
        digest = raw_values if not self.policy.secret else _keyed(self.policy.secret, raw_values)
        decision = self.seen.decide(identity, digest)
        if covered and decision.reason != "new":
            # this screen was recorded from a clear view: a covered one cannot add a trustworthy value
            if not decision.new:
                self.seen.remember(identity, digest, made_record=False)
            h.covered_dropped += 1
            log.info("covered view of a recorded screen dropped", extra={"ctx": {"event": "covered_dropped",
                                                                                 "template": template.id}})
            return None
        if not decision.new:
            self.seen.remember(identity, digest, made_record=False)
            h.repeats += 1
            log.debug("screen already recorded", extra={"ctx": {"event": "repeat", "template": template.id}})
            return None
        record = record.model_copy(update={"id": decision.record_id})
        h.latencies.add("record", time.perf_counter() - t0)
        made = Made(record, settled_t, decision.reason)
        t1 = time.perf_counter()
        try:
            self.sink(made)
        except MessageTooLarge:
            if not record.evidence.crops:
                raise
            # Field crops made the record too big for one feed message: send it without them.
            log.warning("record too large with crops: sent without", extra={"ctx": {"event": "crops_dropped", "record_id": record.id}})
            record = record.model_copy(update={"evidence": record.evidence.model_copy(update={"crops": {}})})
            made = Made(record, settled_t, decision.reason)
            self.sink(made)
        h.latencies.add("outbox", time.perf_counter() - t1)
        self.seen.remember(identity, digest, made_record=True)
        h.records_made += 1
        h.last_record_at = time.time()
        log.info("record made", extra={"ctx": {
            "event": "record", "record_id": record.id, "template": template.id, "version": template.version,
            "status": record.status, "reason": decision.reason, "fields": len(record.fields)}})
        if self.on_made is not None:
            try:
                self.on_made(made)
            except Exception:  # noqa: BLE001 - a display callback must not stop the pipeline
                log.exception("on_made callback failed")
        return made

    def _unknown(self, frame: Frame) -> None:
        h = self.health
        h.unknown_screens += 1
        log.info("unknown screen", extra={"ctx": {"event": "unknown", "frame": frame.index}})
        if self.unknown_folder is None or h.unknown_saved >= self.max_unknown_saved:
            return
        try:
            self.unknown_folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.fromtimestamp(frame.wall_time, timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3]
            path = self.unknown_folder / f"unknown-{stamp}-{frame.index:08d}.png"
            if cv2.imwrite(str(path), frame.image):
                h.unknown_saved += 1
        except Exception as exc:  # noqa: BLE001
            h.error(f"cannot save unknown frame: {exc}")
            log.warning("cannot save unknown frame", extra={"ctx": {"event": "unknown_save_error", "error": str(exc)}})


def _keyed(secret: bytes, text: str) -> str:
    import hmac

    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:32]


def _valid_image(image: Any) -> bool:
    return (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3 and image.shape[0] >= 8 and image.shape[1] >= 8)


def _describe(image: Any) -> str:
    if isinstance(image, np.ndarray):
        return f"array {image.shape} {image.dtype}"
    return type(image).__name__


def _crops(image: np.ndarray, reading: ScreenReading, max_bytes: int = 64_000) -> dict[str, str]:
    """Base64 PNG crops of the fields' boxes (frame coordinates). Personal fields are filtered by privacy."""
    out: dict[str, str] = {}
    h, w = image.shape[:2]
    for name, fr in reading.fields.items():
        if fr.box is None:
            continue
        x, y, bw, bh = fr.box
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + bw), min(h, y + bh)
        if x1 <= x0 or y1 <= y0:
            continue
        ok, png = cv2.imencode(".png", image[y0:y1, x0:x1])
        if ok and len(png) <= max_bytes:
            out[name] = base64.b64encode(png.tobytes()).decode("ascii")
    return out


