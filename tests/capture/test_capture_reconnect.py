"""ReconnectingSource: a source that fails or vanishes comes back by itself."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

import numpy as np
import pytest

from qcedge.capture import Backoff, ReconnectingSource, SourceError, StreamSource, open_source, reconnecting_source
from qcedge.capture.frame import Frame
from qcedge.capture.source import FrameSource

from capture_helpers import free_port, numbered_frames, wait_until, write_video


def test_backoff_doubles_to_the_cap_and_resets():
    backoff = Backoff()
    assert [backoff.next() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 32, 32]
    backoff.reset()
    assert backoff.next() == 1
    custom = Backoff(0.5, 3, 3)
    assert [custom.next() for _ in range(4)] == [0.5, 1.5, 3, 3]
    with pytest.raises(ValueError):
        Backoff(2, 1)


class FlakySource(FrameSource):
    """A real FrameSource whose open/read fail on the schedule given (True = fail)."""

    def __init__(self, opens: list[bool], reads: list[bool]) -> None:
        self.opens, self.reads = list(opens), list(reads)
        self.opened = 0
        self.source_id = "flaky"

    def open(self) -> None:
        self.opened += 1
        if self.opens and self.opens.pop(0):
            raise SourceError("device unplugged")

    def read(self) -> Frame | None:
        if self.reads and self.reads.pop(0):
            raise SourceError("read failed")
        return Frame(np.zeros((4, 4, 3), np.uint8), self.source_id)

    def close(self) -> None:
        pass


def test_failures_are_retried_counted_and_logged_without_spam(caplog):
    flaky = FlakySource(opens=[True] * 20 + [False], reads=[False, True, False])
    source = ReconnectingSource(flaky, initial=0.001, maximum=0.001)
    with caplog.at_level(logging.DEBUG, logger="qcedge.capture.reconnect"):
        source.open()  # fails once, does not raise
        first = source.read()
        second = source.read()  # one read failure, then a reopen
    assert first is not None and second is not None
    assert (first.index, second.index) == (0, 1)
    assert source.stats.failures == 21
    assert source.stats.reconnects == 2
    assert source.stats.consecutive_failures == 0
    assert flaky.opened == 22
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # 20 failed opens in a row: warned at attempts 1, 2, 4, 8, 16; the read failure right after
    # (a new streak within a minute of the last) only at debug level
    assert len(warnings) == 5
    recovered = [r for r in caplog.records if "delivers frames again" in r.getMessage()]
    assert [r.levelno for r in recovered] == [logging.INFO, logging.DEBUG]


def test_a_flapping_source_backs_off_and_stays_quiet(caplog):
    """A source that gives one frame and then fails, over and over: waits grow, the log does not."""
    flaky = FlakySource(opens=[], reads=[False, True] * 12)
    source = ReconnectingSource(flaky, initial=0.001, maximum=0.016)
    with caplog.at_level(logging.DEBUG, logger="qcedge.capture.reconnect"):
        source.open()
        delays = []
        for _ in range(12):
            assert source.read() is not None
            delays.append(source.backoff.peek())
    assert source.stats.failures == 11 and source.stats.reconnects == 11
    assert delays[-1] == 0.016  # not reset to 0.001 by the single frame between failures
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) == 2  # the first failure and the first recovery; the rest at debug level


def test_the_backoff_resets_after_frames_flow_for_a_while():
    flaky = FlakySource(opens=[True, True, True], reads=[])
    source = ReconnectingSource(flaky, initial=0.001, maximum=1, stable_after=0.05)
    source.open()
    source.read()
    assert source.backoff.peek() == 0.008  # three failures: 0.001, 0.002, 0.004 used
    source.read()  # frames flow, but not yet for stable_after
    assert source.backoff.peek() == 0.008
    time.sleep(0.06)
    source.read()
    assert source.backoff.peek() == 0.001


def test_max_failures_gives_up_with_source_error():
    source = ReconnectingSource(FlakySource(opens=[True] * 10, reads=[]), initial=0.001, maximum=0.001,
                                max_failures=3)
    source.open()
    with pytest.raises(SourceError, match="giving up after 3"):
        source.read()


def test_stop_ends_a_long_backoff_wait_promptly(tmp_path):
    source = reconnecting_source(f"file:{tmp_path}/absent.mp4", initial=30, maximum=30)
    source.open()
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(source.read()))
    reader.start()
    time.sleep(0.2)
    assert reader.is_alive()  # waiting out the 30 s backoff
    source.stop()
    reader.join(5)
    assert not reader.is_alive()
    assert result == [None]
    source.close()


@pytest.mark.slow
def test_a_file_that_vanishes_and_reappears_is_picked_up_again(tmp_path):
    frames = numbered_frames(3)
    path = tmp_path / "feed.avi"
    staging = write_video(tmp_path / "staging.avi", frames, fourcc="FFV1")
    source = open_source(f"file:{path}?backoff_initial=0.1&backoff_max=0.4", reconnect=True)
    assert source.stats.failures == 1  # not there yet: no exception, a counted failure
    threading.Timer(0.8, lambda: os.rename(staging, path)).start()
    got = [source.read() for _ in range(3)]
    assert source.stats.failures >= 2 and source.stats.reconnects == 1
    assert all(np.array_equal(f.image, e) for f, e in zip(got, frames))
    assert source.read() is None  # a finite file ends normally
    source.close()
    # it vanishes; a reading station keeps trying until it is back
    path.unlink()
    source = reconnecting_source(f"file:{path}", initial=0.1, maximum=0.2)
    source.open()
    write_video(tmp_path / "staging2.avi", frames[::-1], fourcc="FFV1")
    threading.Timer(0.5, lambda: os.rename(tmp_path / "staging2.avi", path)).start()
    frame = source.read()
    source.close()
    assert np.array_equal(frame.image, frames[2])


@pytest.mark.slow
def test_a_stream_killed_and_restarted_recovers_by_itself(ffmpeg, picture_png, caplog):
    port = free_port(socket.SOCK_DGRAM)
    send = f"udp://127.0.0.1:{port}?pkt_size=1316"
    url = f"udp://127.0.0.1:{port}?overrun_nonfatal=1&fifo_size=5000000"
    sender = ffmpeg.stream_picture(picture_png, send)
    source = ReconnectingSource(lambda: StreamSource(url, read_timeout=1.0, open_timeout=1.5),
                                initial=0.2, maximum=0.8)
    source.open()
    stop_reader = threading.Event()
    frames: list[Frame] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop_reader.is_set():
                frame = source.read()
                if frame is None:
                    return
                frames.append(frame)
        except BaseException as exc:  # the wrapper must never raise here
            errors.append(exc)

    with caplog.at_level(logging.INFO, logger="qcedge.capture.reconnect"):
        thread = threading.Thread(target=reader)
        thread.start()
        try:
            wait_until(lambda: len(frames) >= 5, 10)
            ffmpeg.stop(sender)  # the encoder goes away
            wait_until(lambda: source.stats.failures >= 2, 15)
            assert not source.stats.connected or source.stats.consecutive_failures > 0
            before = len(frames)
            ffmpeg.stream_picture(picture_png, send)  # and comes back
            wait_until(lambda: len(frames) > before + 5, 20)
        finally:
            stop_reader.set()
            source.stop()
            thread.join(10)
            source.close()
    assert not thread.is_alive()
    assert errors == []
    assert source.stats.reconnects >= 1
    assert [f.index for f in frames] == list(range(len(frames)))  # numbering continues across the outage
    assert frames[-1].image[150, 80, 0] > 200  # the picture is back (blue half)
    assert any("delivers frames again" in r.getMessage() for r in caplog.records)



def test_a_spec_brings_its_backoff_policy(tmp_path):
    source = reconnecting_source(f"file:{tmp_path}/x.mp4?backoff_initial=0.5&backoff_max=4")
    assert (source.backoff.initial, source.backoff.maximum) == (0.5, 4)
    assert reconnecting_source(f"file:{tmp_path}/x.mp4", maximum=8).backoff.maximum == 8
    default = reconnecting_source("screen")
    assert (default.backoff.initial, default.backoff.maximum) == (1, 32)
