"""Work off the GUI thread: live OCR of moved boxes (debounced, newest wins) and one-off jobs."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from qcedge.teaching_mode.live_read import error_result, read_fields

log = logging.getLogger(__name__)


class LiveOcr(QObject):
    """Reads fields in a worker thread as their boxes move.

    `request(name)` bumps the field's sequence number and (re)starts a short debounce
    timer; the worker reads the newest state of every requested field. A result is
    applied only if its sequence number is still the newest for that field, so a stale
    read never overwrites a newer one. `resultReady(name, FieldResult, seconds)` fires in
    the GUI thread; `seconds` runs from the request to the result.
    """

    resultReady = Signal(str, object, float)
    busyChanged = Signal(bool)
    _done = Signal(str, int, object, float)

    def __init__(self, snapshot: Callable[[], tuple[np.ndarray | None, dict[str, Any]]],
                 engine_name: str = "ppocr", debounce_ms: int = 25, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.snapshot = snapshot
        self.engine_name = engine_name
        self.enabled = True
        self._engine: Any = None
        self._seq: dict[str, int] = {}
        self._asked: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._pending: dict[str, tuple[int, np.ndarray, dict[str, Any], float]] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._warm = False
        self._busy = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._submit)
        self._done.connect(self._apply)
        self._thread = threading.Thread(target=self._run, name="live-ocr", daemon=True)
        self._thread.start()

    def engine(self) -> Any:
        """The shared engine (detection for proposals, test runs, read all)."""
        from qcedge.ocr_templates import get_engine

        return get_engine(self.engine_name)

    def live_engine(self) -> Any:
        """The engine for live reads: its own single-threaded PP-OCR instance when available.

        One crop at a time gains nothing from more threads, and on a busy 2-core machine a
        single thread answers about twice as fast (measured: 82 vs 161 ms median under load).
        """
        if self._engine is None:
            engine = None
            if self.engine_name == "ppocr":
                try:
                    from qcedge.ocr_templates.engines.ppocr import PpOcrEngine

                    engine = PpOcrEngine(threads=1)
                except Exception as exc:  # noqa: BLE001 - fall back to the shared instance
                    log.debug("no single-threaded PP-OCR for live reads: %s", exc)
            self._engine = engine or self.engine()
        return self._engine

    def request(self, *names: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        for name in names:
            self._seq[name] = self._seq.get(name, 0) + 1
            self._asked.setdefault(name, now)
            self._dirty.add(name)
        self._timer.start()

    def forget(self, name: str) -> None:
        self._seq[name] = self._seq.get(name, 0) + 1  # any result in flight is now stale
        self._dirty.discard(name)

    def pending(self) -> bool:
        return bool(self._dirty or self._pending or self._busy or self._timer.isActive())

    def _submit(self) -> None:
        image, data = self.snapshot()
        if image is None:
            self._dirty.clear()
            return
        with self._cond:
            for name in self._dirty:
                self._pending[name] = (self._seq[name], image, data, self._asked.get(name, time.perf_counter()))
            self._dirty.clear()
            self._cond.notify()

    def warm_up(self) -> None:
        """Load the engine in the worker now (a frame is open: boxes are coming)."""
        if self.enabled and self._engine is None:
            with self._cond:
                self._warm = True
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop and not self._warm:
                    self._cond.wait()
                if self._stop:
                    return
                if self._warm and not self._pending:
                    self._warm = False
                    warm = True
                else:
                    warm = False
            if warm:
                try:
                    self.live_engine()
                except Exception as exc:  # noqa: BLE001 - reported on the first read
                    log.debug("OCR engine not loaded yet: %s", exc)
                continue
            with self._cond:
                if not self._pending:
                    continue
                name, (seq, image, data, asked) = next(iter(self._pending.items()))
                del self._pending[name]
                self._busy += 1
            try:
                result = read_fields(image, data, [name], engine=self.live_engine()).get(name)
            except Exception as exc:  # noqa: BLE001 - an engine failure is shown, not fatal
                log.warning("live OCR failed: %s", exc)
                result = error_result(name, f"OCR failed: {exc}")
            finally:
                with self._cond:
                    self._busy -= 1
            if result is not None:
                self._done.emit(name, seq, result, asked)

    def _apply(self, name: str, seq: int, result: object, asked: float) -> None:
        if seq != self._seq.get(name):
            return  # stale: a newer request for this field is queued or running
        self._asked.pop(name, None)
        self.resultReady.emit(name, result, time.perf_counter() - asked)

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5)


class Job(QObject):
    """Runs `fn()` in a thread; `finished(result)` or `failed(message)` arrive in the GUI thread."""

    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int, object)  # done, total, partial

    _jobs: set["Job"] = set()

    def __init__(self, fn: Callable[["Job"], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.cancelled = False
        self.thread = threading.Thread(target=self._run, name="teach-job", daemon=True)

    def start(self) -> "Job":
        Job._jobs.add(self)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self.fn(self)
        except Exception as exc:  # noqa: BLE001
            log.warning("background job failed: %s", exc)
            self.failed.emit(str(exc))
        else:
            self.finished.emit(result)
        finally:
            Job._jobs.discard(self)
