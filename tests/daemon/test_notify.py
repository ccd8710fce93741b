"""Feedback display: always a log line; a desktop notification is tried where a display exists and never blocks."""
from __future__ import annotations

import logging
import shutil
import time

import pytest

from qcedge.qc_client.feedback import Feedback as FeedFeedback
from qcedge.notify import Feedback, Notifier


def test_feedback_from_the_feed_is_logged(caplog):
    fb = Feedback.from_any(FeedFeedback(record_id="r-1", level="alert", message="CTDIvol above the reference level",
                                        rule="ct-ctdivol"))
    assert (fb.record_id, fb.level, fb.rule) == ("r-1", "alert", "ct-ctdivol")
    with caplog.at_level(logging.INFO, logger="qcedge.notify"):
        Notifier(desktop=False).show(fb)
    [rec] = [r for r in caplog.records if r.name == "qcedge.notify"]
    assert rec.levelno == logging.WARNING and rec.ctx["event"] == "feedback" and rec.ctx["record_id"] == "r-1"


@pytest.mark.display
@pytest.mark.skipif(shutil.which("notify-send") is None, reason="libnotify-bin not installed")
def test_desktop_notification_is_tried_and_never_stops_the_caller(xvfb, caplog):
    notifier = Notifier()  # DISPLAY is set by the xvfb fixture: notify-send is used
    assert notifier.desktop
    with caplog.at_level(logging.INFO, logger="qcedge.notify"):
        notifier.show(Feedback("r-2", "warn", "EI 682 is above the national warn level 600"))
    deadline = time.monotonic() + 10
    while notifier.shown + notifier.failed == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    # This machine has no notification service: notify-send fails, the log line stays, nothing raises.
    assert notifier.shown + notifier.failed == 1
    assert any(r.name == "qcedge.notify" for r in caplog.records)
