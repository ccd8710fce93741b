"""Reconnect: keep a source alive through failures, with exponential backoff."""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from qcedge.capture.frame import Frame
from qcedge.capture.source import FrameSource, SourceError

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

    source: a FrameSource (reopened with close()/open()) or a factory returning a
        fresh one (`capture.factory.reconnecting_source` builds one from a spec).
    live: whether the source is live (default: the source's own answer, else True).
    initial, maximum, factor: the backoff between attempts (1 s doubling to 32 s
        by default); it resets once
        frames have flowed again for `stable_after` seconds (10), so a source
        that fails right after each reopen keeps backing off.
    max_failures: raise SourceError after this many consecutive failures
        (None: never give up).
    stop: an Event that ends waits at once; read() then returns None. `stop()`
        sets it.

    read() blocks until a frame arrives, the source ends (a finite source's
    None is passed through) or stop is set; it never raises for a failing
    source. Logging is rate-limited: a warning at the 1st, 2nd, 4th, 8th, ...
    failure of a streak and one line when frames flow again; a new streak
    within `log_interval` (60 s) of the last one logs at debug level only,
    unless it lasts 8 attempts or more.
    Frames are renumbered so `index` keeps counting across reconnects.
    """

    def __init__(
        self,
        source: FrameSource | Callable[[], FrameSource],
        *,
        initial: float | None = None,
        maximum: float | None = None,
        factor: float = 2.0,
        max_failures: int | None = None,
        stop: threading.Event | None = None,
        source_id: str | None = None,
        live: bool | None = None,
        stable_after: float = 10.0,
        log_interval: float = 60.0,
    ) -> None:
        if isinstance(source, FrameSource):
            self._factory: Callable[[], FrameSource] | None = None
            self.inner: FrameSource | None = source
        else:
            self._factory, self.inner = source, None
        initial = 1.0 if initial is None else initial
        self.backoff = Backoff(initial, max(initial, 32.0) if maximum is None else maximum, factor)
        self.max_failures = max_failures
        self.stop_event = stop or threading.Event()
        self.stats = ReconnectStats()
        self._inner_open = False
        self._next_attempt = 0.0
        self._streak_started = 0.0
        self._healthy_since: float | None = None
        self._streak_logged = True
        self._last_streak_warning = -float("inf")
        self.stable_after = stable_after
        self.log_interval = log_interval
        self._index = 0
        self._opened = False
        self.source_id = source_id or getattr(self.inner, "source_id", "source")
        # Known before the first successful open (a spec says it; a factory's source may not exist yet).
        self.live = live if live is not None else getattr(self.inner, "live", True)

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
                self._failed(exc, unexpected=True)
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
            self._failed(exc, unexpected=True)
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

    def _failed(self, exc: BaseException, unexpected: bool = False) -> None:
        self._close_inner()
        stats = self.stats
        stats.failures += 1
        stats.consecutive_failures += 1
        stats.last_error = str(exc) or type(exc).__name__
        stats.last_failure = time.time()
        delay = self.backoff.next()
        now = time.monotonic()
        self._next_attempt = now + delay
        self._healthy_since = None
        n = stats.consecutive_failures
        if n == 1:
            self._streak_started = now
            # A flapping source (a frame, a failure, a frame ...) starts a streak
            # every few seconds: warn about a new streak at most once a log_interval.
            self._streak_logged = now - self._last_streak_warning >= self.log_interval
            if self._streak_logged:
                self._last_streak_warning = now
        loud = self._streak_logged and (n == 1 or n & (n - 1) == 0)  # 1, 2, 4, 8, 16, ...
        if n > 1 and n & (n - 1) == 0 and n >= 8:
            loud = True  # a long outage is reported even while flapping is muted
        if not loud:
            log.debug("source %s attempt %d failed: %s", self.source_id, n, stats.last_error)
        elif n == 1:
            log.warning("source %s failed: %s; retrying in %g s", self.source_id, stats.last_error, delay,
                        exc_info=exc if unexpected else None)
        else:
            log.warning("source %s still failing after %d attempts (%.0f s): %s; next try in %g s",
                        self.source_id, n, now - self._streak_started, stats.last_error, delay,
                        exc_info=exc if unexpected else None)
        if self.max_failures is not None and n >= self.max_failures:
            raise SourceError(f"{self.source_id}: giving up after {n} consecutive failures: {exc}") from exc

    def _succeeded(self) -> None:
        now = time.monotonic()
        if self.stats.consecutive_failures:
            (log.info if self._streak_logged else log.debug)(
                "source %s delivers frames again after %d failed attempts (%.1f s)", self.source_id,
                self.stats.consecutive_failures, now - self._streak_started)
            self.stats.reconnects += 1
            self.stats.consecutive_failures = 0
            self._healthy_since = now
        elif self._healthy_since is not None and now - self._healthy_since >= self.stable_after:
            # Reset the backoff only once frames have flowed for a while, so a
            # source that fails right after every reopen still backs off.
            self.backoff.reset()
            self._healthy_since = None
