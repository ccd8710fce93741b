"""QC feedback to the technologist: the station's own rules' findings at once, central's when they arrive.

A finding the rules at the edge showed is not shown again when central's verdict for the same record,
rule and level arrives later. Feedback that names no screen is shown with the screen of its record.
Nothing here ever stops the daemon: a display that fails is logged.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from qcedge.health import Health
from qcedge.notify import Feedback, Notifier
from qcedge.pipeline import Made

log = logging.getLogger(__name__)

REMEMBERED = 10000  # records (and findings) remembered for the above, the oldest forgotten first


def remember(memory: OrderedDict, key: Hashable, value: Any = None, limit: int = REMEMBERED) -> None:
    """Put a key into a bounded memory, forgetting the oldest beyond `limit`."""
    memory[key] = value
    if len(memory) > limit:
        memory.popitem(last=False)


class FeedbackRelay:
    """Shows feedback through a Notifier (and an optional callback), counting it in the station's health."""

    def __init__(self, notifier: Notifier, health: Health,
                 on_feedback: Callable[[Feedback], None] | None = None) -> None:
        self.notifier = notifier
        self.health = health
        self.on_feedback = on_feedback
        self.edge_shown = 0  # findings shown from the rules at the edge
        self.screens: OrderedDict[str, str] = OrderedDict()  # record id -> template id
        self._shown: OrderedDict[tuple, None] = OrderedDict()  # (record, rule, level) shown at the edge

    def record_made(self, made: Made) -> None:
        """Remember which screen a record came from, for feedback that names none."""
        if made.record.template is not None:
            remember(self.screens, made.record.id, made.record.template.id)

    def edge_findings(self, rules: Any, made: Made) -> list[Any]:
        """Evaluate the release's layered rules on a record before it is sent."""
        if rules is None:
            return []
        try:
            findings = rules.evaluate(made.record)
        except Exception:  # noqa: BLE001 - a rule never stops the daemon
            log.exception("edge rules failed")
            return []
        for f in findings:
            remember(self._shown, (made.record.id, f.rule, f.level))
        return findings

    def show_edge(self, made: Made, findings: list[Any]) -> None:
        """Show the edge findings at once, also when central is away."""
        template = made.record.template.id if made.record.template else None
        for f in findings:
            self.edge_shown += 1
            self._show(Feedback(record_id=made.record.id, level=f.level, message=f.message, template=template,
                                rule=f.rule))

    def from_central(self, item: Any) -> None:
        """Central's feedback for a record (from the feed's ack or a feedback message)."""
        fb = Feedback.from_any(item)
        if fb.template is None and fb.record_id in self.screens:
            fb = dataclasses.replace(fb, template=self.screens[fb.record_id])
        self.health.feedback_received += 1
        self.health.last_feedback_at = time.time()
        if (fb.record_id, fb.rule, fb.level) not in self._shown:
            self._show(fb)

    def _show(self, fb: Feedback) -> None:
        try:
            self.notifier.show(fb)
            if self.on_feedback:
                self.on_feedback(fb)
        except Exception:  # noqa: BLE001 - feedback display never stops the daemon
            log.exception("feedback display failed")
