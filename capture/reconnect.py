"""Reconnect: keep a source alive through failures, with exponential backoff."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from capture.frame import Frame
from capture.source import FrameSource, SourceError

log = logging.getLogger(__name__)


class Backoff:
    """Delays initial, initial*factor, ... capped at maximum; reset() starts over."""

    def __init__(self, initial: float = 1.0, maximum: float = 32.0, factor: float = 2.0) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        return delay

    def peek(self) -> float:
        return self._next

    def reset(self) -> None:
        self._next = self.initial


@dataclass
class ReconnectStats:
    """What the wrapper has been through (for health and status output)."""

    frames: int = 0
    failures: int = 0  # every failed open or read
    consecutive_failures: int = 0  # since the last good frame
    reconnects: int = 0  # times frames flowed again after a failure
    last_error: str = ""
    last_failure: float | None = None  # wall time
    connected: bool = False


class ReconnectingSource(FrameSource):
    """Wraps a source; when it fails or vanishes, closes it and opens it again.

    source: a FrameSource (reopened with close()/open()), a factory returning a
        fresh one, or a spec (string, SourceSpec or mapping).
    initial, maximum, factor: the backoff between attempts (1 s doubling to 32 s
        by default); it resets at the first good frame after a failure.
    max_failures: raise SourceError after this many consecutive failures
        (None: never give up).
    stop: an Event that ends waits at once; read() then returns None. `stop()`
        sets it.

    read() blocks until a frame arrives, the source ends (a finite source's
    None is passed through) or stop is set; it never raises for a failing
    source. Logging is rate-limited: the first failure of a streak, then at
    the 2nd, 4th, 8th, ... attempt, and one line when frames flow again.
    Frames are renumbered so `index` keeps counting across reconnects.
    """

    def __init__(
        self,
        source: FrameSource | Callable[[], FrameSource] | Any,
        *,
        initial: float = 1.0,
        maximum: float = 32.0,
        factor: float = 2.0,
        max_failures: int | None = None,
        stop: threading.Event | None = None,
        source_id: str | None = None,
    ) -> None:
        if isinstance(source, FrameSource):
            self._factory: Callable[[], FrameSource] | None = None
            self.inner: FrameSource | None = source
        elif callable(source):
            self._factory, self.inner = source, None
        else:
            from capture.factory import make_source
            from capture.spec import as_spec

            spec = as_spec(source)
            self._factory, self.inner = (lambda: make_source(spec)), None
            source_id = source_id or spec.source_id
        self.backoff = Backoff(initial, maximum, factor)
        self.max_failures = max_failures
        self.stop_event = stop or threading.Event()
        self.stats = ReconnectStats()
        self._inner_open = False
        self._next_attempt = 0.0
        self._streak_started = 0.0
        self._index = 0
        self._opened = False
        self.source_id = source_id or getattr(self.inner, "source_id", "source")
        self.live = getattr(self.inner, "live", True)

    @classmethod
    def from_spec(cls, spec: Any, *, stop: threading.Event | None = None,
                  max_failures: int | None = None) -> "ReconnectingSource":
        """A reconnecting source with the spec's backoff settings."""
        from capture.factory import make_source
        from capture.spec import as_spec

        spec = as_spec(spec)
        return cls(lambda: make_source(spec), initial=spec.backoff_initial, maximum=spec.backoff_max,
                   stop=stop, max_failures=max_failures, source_id=spec.source_id)

    # -- FrameSource -----------------------------------------------------------
    def open(self) -> None:
        """Try to open the source once; a failure is logged and retried by read()."""
        if self._opened:
            return
        self._opened = True
        self._try_open()

    def read(self) -> Frame | None:
        if not self._opened:
            raise SourceError(f"{self.source_id} is not open")
        while not self.stop_event.is_set():
            if not self._inner_open:
                wait = self._next_attempt - time.monotonic()
                if wait > 0:
                    self.stop_event.wait(wait)
                    continue
                if not self._try_open():
                    continue
            assert self.inner is not None
            try:
                frame = self.inner.read()
            except SourceError as exc:
                self._failed(exc)
                continue
            except Exception as exc:  # a source bug must not kill a months-long daemon
                log.exception("unexpected error reading %s", self.source_id)
                self._failed(exc)
                continue
            if frame is None:
                return None
            self._succeeded()
            frame = dataclasses.replace(frame, index=self._index)
            self._index += 1
            self.stats.frames += 1
            return frame
        return None

    def close(self) -> None:
        self._opened = False
        self._close_inner()

    def stop(self) -> None:
        """End waits now: read() returns None from here on."""
        self.stop_event.set()
        interrupt = getattr(self.inner, "interrupt", None)
        if callable(interrupt):
            interrupt()

    @property
    def next_attempt_in(self) -> float:
        """Seconds until the next reconnect attempt (0 when connected)."""
        return 0.0 if self._inner_open else max(0.0, self._next_attempt - time.monotonic())

    # -- internals -------------------------------------------------------------
    def _try_open(self) -> bool:
        try:
            if self._factory is not None:
                self._close_inner()
                self.inner = self._factory()
                self.live = getattr(self.inner, "live", True)
            assert self.inner is not None
            self.inner.open()
        except SourceError as exc:
            self._failed(exc)
            return False
        except Exception as exc:
            log.exception("unexpected error opening %s", self.source_id)
            self._failed(exc)
            return False
        self._inner_open = True
        self.stats.connected = True
        return True

    def _close_inner(self) -> None:
        if self.inner is not None and (self._inner_open or self._factory is None):
            try:
                self.inner.close()
            except Exception:
                log.debug("closing %s failed", self.source_id, exc_info=True)
        self._inner_open = False
        self.stats.connected = False

    def _failed(self, exc: BaseException) -> None:
        self._close_inner()
        stats = self.stats
        stats.failures += 1
        stats.consecutive_failures += 1
        stats.last_error = str(exc)
        stats.last_failure = time.time()
        delay = self.backoff.next()
        self._next_attempt = time.monotonic() + delay
        n = stats.consecutive_failures
        if n == 1:
            self._streak_started = time.monotonic()
            log.warning("source %s failed: %s; retrying in %g s", self.source_id, exc, delay)
        elif n & (n - 1) == 0:  # 2, 4, 8, 16, ...
            log.warning("source %s still failing after %d attempts (%.0f s): %s; next try in %g s",
                        self.source_id, n, time.monotonic() - self._streak_started, exc, delay)
        else:
            log.debug("source %s attempt %d failed: %s", self.source_id, n, exc)
        if self.max_failures is not None and n >= self.max_failures:
            raise SourceError(f"{self.source_id}: giving up after {n} consecutive failures: {exc}") from exc

    def _succeeded(self) -> None:
        if self.stats.consecutive_failures:
            log.info("source %s delivers frames again after %d failed attempts (%.1f s)", self.source_id,
                     self.stats.consecutive_failures, time.monotonic() - self._streak_started)
            self.stats.reconnects += 1
            self.stats.consecutive_failures = 0
            self.backoff.reset()
