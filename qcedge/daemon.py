"""The capture daemon: a source, the pipeline, the outbox and feed, the status file, clean stops.

    qcedge run --config station.toml

One thread reads frames and runs the pipeline; the feed client runs its own
socket thread; a small thread rewrites the status file every few seconds.
SIGTERM/SIGINT stop the loop, flush what is pending to the outbox (committed
records stay there until acked), close the sockets and write the final status.
"""
from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qcedge.capture import Frame, SourceError
from qcedge.config import StationConfig
from qcedge.feedback_relay import FeedbackRelay, remember
from qcedge.health import Health, write_status
from qcedge.notify import Acknowledgement, Feedback, Notifier, WindowNotifier
from qcedge.pipeline import Detectors, Made, Pipeline
from qcedge.privacy import PrivacyPolicy
from qcedge.seen import SeenScreens
from qcedge.service import SdNotify, Watchdog
from qcedge.station_kb import StationKb

log = logging.getLogger(__name__)


def seen_path(config: StationConfig) -> Path:
    """The record-identity memory: beside the outbox."""
    outbox = config.feed.outbox
    return outbox.with_name(outbox.stem + ".seen.sqlite")


class Daemon:
    """Runs one station config until stopped (or until a finite source ends).

    `file_pace` overrides a file source's `pace` (0 = as fast as it decodes).
    Callbacks (for `qcedge demo` and tests): `on_made(Made)` after a record is
    committed to the outbox, `on_ack(record_id, seconds_from_settle)`,
    `on_feedback(Feedback)`.
    """

    def __init__(
        self,
        config: StationConfig,
        *,
        source: Any = None,
        on_made: Callable[[Made], None] | None = None,
        on_ack: Callable[[str, float | None], None] | None = None,
        on_feedback: Callable[[Feedback], None] | None = None,
        notifier: Notifier | None = None,
        file_pace: float | None = None,
        drain_seconds: float = 5.0,
        linger: float = 0.0,
    ) -> None:
        self.config = config
        self._source_override = source
        self.on_made_cb, self.on_ack_cb = on_made, on_ack
        if notifier is None:
            # with [notify] window: the on-screen notifier, whose acknowledgements go to central
            notifier = Notifier(window=WindowNotifier(on_ack=self._on_notify_ack) if config.notify.window else None)
        self.notifier = notifier
        self.file_pace = file_pace
        self._pace = 0.0  # a file source played at this speed (0: as fast as it decodes)
        self.drain_seconds = drain_seconds
        self.linger = linger
        self.health = Health(config.station.id, config.station.site)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._settled_at: dict[str, float] = {}
        self._acked_ids: OrderedDict[str, None] = OrderedDict()
        self.feedback = FeedbackRelay(self.notifier, self.health, on_feedback)
        self.client: Any = None
        self.outbox: Any = None
        self._outbox_closed = False
        self._last_depth: int | None = None
        self.source: Any = None
        self.pipeline: Pipeline | None = None
        self.seen: SeenScreens | None = None
        self.made_count = 0
        self.kb = StationKb(config)
        self._engine: Any = None
        self.last_frame_at: float | None = None  # wall time of the last frame read from the source
        self.sd = SdNotify()  # systemd readiness/watchdog; a no-op outside a service (docs/service.md)
        self.watchdog = Watchdog(self.sd, waiting=self._source_waiting, status=self._sd_status)

    # ---- control ---------------------------------------------------------

    def stop(self, *_: Any) -> None:
        """Ask the loop to stop (signal-safe)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("stop requested", extra={"ctx": {"event": "signal", "signal": signal.Signals(signum).name}})
        self._stop.set()

    # ---- run ---------------------------------------------------------------

    def run(self) -> int:
        """Start everything, run the frame loop, stop cleanly. Returns an exit code."""
        cfg = self.config
        h = self.health
        status_thread = threading.Thread(target=self._status_loop, name="status", daemon=True)
        status_thread.start()
        try:
            self._start()
            if getattr(self.notifier, "window", None) is not None:
                self.notifier.window.start()  # [notify] window: Qt starts now, not with the first feedback
            h.state = "running"
            self._write_status()
            self.sd.ready(self._sd_status())
            self.watchdog.start()
            log.info("daemon started", extra={"ctx": {"event": "start", "station": cfg.station.id, "site": cfg.station.site,
                                                     "templates": len(self.pipeline.templates) if self.pipeline else 0,
                                                     "endpoint": cfg.feed.endpoint}})
            self._loop()
            self.sd.stopping("stopping: sending what is pending")
            h.state = "stopping"
            self._drain()
            h.state = "stopped" if self._stop.is_set() else "finished"
            self._write_status()
            return 0
        except Exception as exc:
            h.state = "failed"
            h.error(f"{type(exc).__name__}: {exc}")
            log.error("daemon failed", extra={"ctx": {"event": "failed", "error": f"{type(exc).__name__}: {exc}"}})
            raise
        finally:
            self._stop.set()
            self.sd.stopping()
            self.watchdog.stop()
            self._shutdown()
            try:
                close = getattr(self.notifier, "close", None)
                if close is not None:
                    close()
            except Exception:  # noqa: BLE001 - closing the window never fails the stop
                log.exception("closing the notifier failed")
            status_thread.join(timeout=2)
            self._write_status()
            self.sd.close()
            log.info("daemon stopped", extra={"ctx": {"event": "stop", "records_made": h.records_made,
                                                     "records_acked": h.records_acked, "state": h.state}})

    def _start(self) -> None:
        from qcedge.kb import load_release_templates
        from qcedge.ocr_templates import ScreenReader, get_engine, load_templates

        cfg = self.config
        release, rules, kb_version = self.kb.current()
        templates = load_templates(cfg.templates.folder) if release is None else load_release_templates(release)
        engine = self._engine = get_engine(cfg.templates.engine)
        reader = ScreenReader(templates, engine=engine)
        if cfg.templates.warm_up:
            seconds = reader.warm_up()
            log.info("OCR warmed up", extra={"ctx": {"event": "warm_up", "templates": len(templates),
                                                    "seconds": round(seconds, 2)}})
        policy = PrivacyPolicy.from_section(cfg.privacy)
        self.seen = SeenScreens(seen_path(cfg), cfg.station.id, cfg.detection.repeat_window)
        self.seen.forget_older_than(max(cfg.detection.repeat_window, 180 * 86400.0))
        self.pipeline = Pipeline(
            station=cfg.station.id, site=cfg.station.site, reader=reader, templates=templates,
            detectors=Detectors(cfg.detection.settle_frames, cfg.detection.change_threshold),
            seen=self.seen, policy=policy, sink=self._submit, health=self.health,
            unknown_folder=cfg.unknown.save_folder, max_unknown_saved=cfg.unknown.max_saved,
        )
        self.pipeline.rules, self.pipeline.kb_version = rules, kb_version
        self._start_feed()
        self.source = self._open_source()

    # ---- knowledge base (docs/kb.md) ----------------------------------------------

    def _kb_apply(self, folder: Path, manifest: Any) -> None:
        """Load the release (agent thread) and hand it to the frame thread, which switches between frames."""
        from qcedge.kb import load_release_rules, load_release_templates, template_folders
        from qcedge.ocr_templates import ScreenReader, load_templates

        templates = load_release_templates(folder) if template_folders(folder) \
            else load_templates(self.config.templates.folder)
        # the OCR engine (warmed up at start) is shared: no second warm-up competing with the frame loop
        reader = ScreenReader(templates, engine=self._engine)
        self.pipeline.swap(reader, templates, load_release_rules(folder), manifest.version)  # type: ignore[union-attr]

    def _open_source(self) -> Any:
        """The configured source inside a ReconnectingSource (a failing source is reopened with backoff)."""
        if self._source_override is not None:
            src = self._source_override
        else:
            from qcedge.capture import reconnecting_source

            spec = self.config.source_spec()
            if spec.kind == "file":
                # The daemon paces a file itself, dropping frames while it is busy (OCR), as a live
                # source would: the file's own pacer would pause the video instead.
                self._pace = spec.pace if self.file_pace is None else self.file_pace
                spec = spec.model_copy(update={"pace": 0.0})
            src = reconnecting_source(spec, stop=self._stop)
        src.open()
        return src

    def _start_feed(self) -> None:
        from qcedge.qc_client.client import FeedClient
        from qcedge.qc_client.keys import ClientKeys
        from qcedge.qc_client.outbox import Outbox

        cfg = self.config.feed
        cfg.outbox.parent.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(cfg.outbox)
        keys = ClientKeys.from_files(cfg.station_key, cfg.server_key) if cfg.server_key and cfg.station_key else None
        self.client = FeedClient(cfg.endpoint, self.outbox, self.config.station.id,
                                 on_feedback=self.feedback.from_central, on_rejected=self._on_rejected,
                                 on_acked=self._on_acked, keys=keys, kb=self.kb.make_agent(self._kb_apply))
        self.client.start()

    def _loop(self) -> None:
        """Read frames until stopped or the source ends.

        A live source (screen, device, stream) is read every 1/fps seconds. A
        file delivers every frame in order (paced by the source's `pace`), so
        only every k-th frame is looked at, k = file fps / [detection] fps; a paced file
        is paced here, and frames that went by while the daemon was busy are dropped.
        """
        h = self.health
        period = 1.0 / self.config.detection.fps
        next_t = time.monotonic()
        live = bool(getattr(self.source, "live", True))
        stride, n, rate, t_start = 1, 0, 0.0, 0.0
        while not self._stop.is_set():
            self.watchdog.beat()
            t0 = time.perf_counter()
            try:
                frame: Frame | None = self.source.read()
            except SourceError as exc:
                h.source_errors += 1
                h.error(f"source: {exc}")
                log.warning("source failed", extra={"ctx": {"event": "source_error", "error": str(exc)}})
                self._stop.wait(1.0)
                continue
            grab_s = time.perf_counter() - t0
            self._source_stats()
            if frame is None:
                if not self._stop.is_set():
                    log.info("source ended", extra={"ctx": {"event": "source_end", "frames": h.frames_seen}})
                break
            self.last_frame_at = time.time()
            if not live:
                if n == 0:
                    fps = self._file_fps()
                    stride = max(1, round(fps * period)) if fps else 1
                    rate, t_start = (fps or 25.0) * self._pace, time.monotonic()
                n += 1
                if rate:
                    lag = time.monotonic() - (t_start + (n - 1) / rate)
                    if lag < 0:
                        self._stop.wait(-lag)
                        frame = dataclasses.replace(frame, t=time.monotonic(), wall_time=time.time())
                    elif lag > period:
                        h.frames_dropped += 1  # busy (OCR): a live source would have moved on too
                        continue
                if (n - 1) % stride:
                    continue
            h.latencies.add("grab", grab_s)
            self.pipeline.handle(frame)  # type: ignore[union-attr]
            if live:
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                elif delay < -period:
                    next_t = time.monotonic()  # fell behind (OCR took a while): do not burst
        if self.pipeline is not None:
            self.pipeline.flush_held()   # a covered screen still waiting for a clear view goes as it is

    def _file_fps(self) -> float | None:
        inner = getattr(self.source, "inner", self.source)
        fps = getattr(inner, "fps", None)
        return float(fps) if fps else None

    def _source_waiting(self) -> bool:
        """The source is between reconnect attempts (waiting by design, not hung)."""
        return float(getattr(self.source, "next_attempt_in", 0.0) or 0.0) > 0.0

    def _sd_status(self) -> str:
        h = self.health
        return f"{h.state}: frames {h.frames_seen}, records {h.records_made}, acked {h.records_acked}"

    def _source_stats(self) -> None:
        stats = getattr(self.source, "stats", None)
        if stats is not None and not callable(stats):
            self.health.reconnects = int(getattr(stats, "reconnects", 0))
            failures = int(getattr(stats, "failures", 0))
            if failures > self.health.source_errors:
                self.health.source_errors = failures
                if getattr(stats, "last_error", ""):
                    self.health.error(f"source: {stats.last_error}")

    # ---- feed callbacks ---------------------------------------------------------

    def _submit(self, made: Made) -> None:
        # Under the lock, so that an ack (feed thread) is handled after the record is registered and shown.
        findings = self.feedback.edge_findings(self.pipeline.rules if self.pipeline else None, made)
        with self._lock:
            self._settled_at[made.record.id] = made.settled_t
            self.feedback.record_made(made)
            self.client.submit(made.record)
            self.made_count += 1
            if self.on_made_cb:
                try:
                    self.on_made_cb(made)
                except Exception:  # noqa: BLE001 - display must not stop the daemon
                    log.exception("on_made callback failed")
            self.feedback.show_edge(made, findings)

    def _on_acked(self, record_ids: list[str]) -> None:
        for rid in record_ids:
            self._on_ack(rid)

    def _on_rejected(self, record_id: str, error: str) -> None:
        self.health.error(f"central rejected record {record_id}: {error}")

    def _on_ack(self, record_id: str) -> None:
        h = self.health
        now = time.monotonic()
        with self._lock:
            settled = self._settled_at.pop(record_id, None)
            if record_id in self._acked_ids:
                return  # acked again (a resend crossed the first ack)
            remember(self._acked_ids, record_id)
        h.records_acked += 1
        h.last_ack_at = time.time()
        latency = None if settled is None else now - settled
        if latency is not None:
            h.latencies.add("settle_to_ack", latency)
        log.info("record acknowledged", extra={"ctx": {"event": "ack", "record_id": record_id,
                                                      "settle_to_ack_ms": None if latency is None else round(latency * 1000, 1)}})
        if self.on_ack_cb:
            try:
                self.on_ack_cb(record_id, latency)
            except Exception:  # noqa: BLE001
                log.exception("on_ack callback failed")

    def _on_notify_ack(self, ack: Acknowledgement) -> None:
        """The technologist acknowledged a feedback on the on-screen notifier: tell central."""
        if self.client is None:
            log.warning("feedback acknowledged before the feed started: not sent")
            return
        self.client.acknowledge(ack.record_id, rule=ack.rule, level=ack.level, by=_login_name(), at=ack.at or None)

    # ---- stop -------------------------------------------------------------------

    def _drain(self) -> None:
        """Give the feed a moment to send what is pending (it stays in the outbox regardless).

        No wait when central has not been heard from (down or unreachable): nothing would be acked.
        """
        start = time.monotonic()
        deadline = start + self.drain_seconds
        while time.monotonic() < deadline and self.outbox_depth() not in (0, None):
            if time.monotonic() - start > 1.0 and not self._feed_connected():
                break
            time.sleep(0.05)
        if self.linger > 0 and self.outbox_depth() == 0 and self.health.records_made:
            time.sleep(self.linger)  # feedback follows the ack: let the last of it arrive

    def _feed_connected(self) -> bool:
        try:
            return bool(self.client.stats().connected)
        except Exception:  # noqa: BLE001
            return False

    def outbox_depth(self) -> int | None:
        """Records waiting for central's ack (the last known figure once the outbox is closed)."""
        if self.outbox is None or self._outbox_closed:
            return self._last_depth
        try:
            self._last_depth = int(self.outbox.depth())
        except Exception:  # noqa: BLE001
            pass
        return self._last_depth

    def _shutdown(self) -> None:
        for name, closer in (("source", lambda: self.source and self.source.close()),
                             ("feed", lambda: self.client and self.client.stop()),
                             ("kb", lambda: self.kb.agent and self.kb.agent.close()),
                             ("outbox", self._close_outbox),
                             ("seen", lambda: self.seen and self.seen.close())):
            try:
                closer()
            except Exception as exc:  # noqa: BLE001
                log.warning("close failed", extra={"ctx": {"event": "close_error", "part": name, "error": str(exc)}})

    def _close_outbox(self) -> None:
        if self.outbox is not None and not self._outbox_closed:
            self.outbox_depth()  # remember the final depth for the status file
            self._outbox_closed = True
            self.outbox.close()

    # ---- status -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from qcedge import __version__

        extra: dict[str, Any] = {"outbox_depth": self.outbox_depth(), "feed_endpoint": self.config.feed.endpoint,
                                 "version": __version__, "last_frame_at": _iso(self.last_frame_at)}
        if self.kb.store is not None:
            state = self.kb.store.state()
            extra["kb"] = {"running": self.pipeline.kb_version if self.pipeline else None, "current": state.current,
                           "previous": state.previous, "applied_at": state.applied_at, "refused": state.refused,
                           "refused_reason": state.refused_reason}
        if self.client is not None:
            try:
                stats = self.client.stats().as_dict()
            except Exception:  # noqa: BLE001
                stats = None
            if stats:
                extra["feed"] = {k: v for k, v in stats.items() if isinstance(v, (int, float, str, bool, type(None)))}
                extra["feed_connected"] = stats.get("connected")
        return self.health.snapshot(extra)

    def _write_status(self) -> None:
        try:
            write_status(self.config.status.file, self.status())
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot write status file", extra={"ctx": {"event": "status_error", "error": str(exc)}})

    def _status_loop(self) -> None:
        while not self._stop.wait(self.config.status.interval):
            self._write_status()


def _iso(t: float | None) -> str | None:
    from datetime import datetime, timezone

    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def _login_name() -> str | None:
    """Who acknowledged: the workstation's login name (not a patient field), or None."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
