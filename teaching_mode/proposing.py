"""Proposals in the teaching window: detect text on the frame shown (and others of the source), offer
label/value pairs in the Proposals tab and on the canvas, turn the accepted ones into fields."""
from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from qcedge.teaching_mode.propose import Proposal, merge_frames, propose_fields
from qcedge.teaching_mode.workers import Job

log = logging.getLogger(__name__)

SAME_BOX = 0.5  # a proposal overlapping an existing field this much (of the smaller box) is not offered


def overlap(a: list[int], b: list[int]) -> float:
    """The share of the smaller of two [x, y, w, h] boxes that the other covers."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(min(a[2] * a[3], b[2] * b[3]) or 1)


class Proposer(QObject):
    """Propose fields (Ctrl+P, Ctrl+Shift+P) and accept them (`window.proposer`)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.job: Job | None = None

    def visible_region(self) -> list[int] | None:
        """The part of the frame shown in the canvas, when zoomed in (None: the whole frame is shown)."""
        image = self.window.doc.image
        if image is None:
            return None
        canvas = self.window.canvas
        r = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
        H, W = image.shape[:2]
        x0, y0 = max(0, int(r.left())), max(0, int(r.top()))
        x1, y1 = min(W, int(r.right()) + 1), min(H, int(r.bottom()) + 1)
        if x1 - x0 <= 0 or y1 - y0 <= 0 or (x1 - x0) * (y1 - y0) > 0.9 * W * H:
            return None
        return [x0, y0, x1 - x0, y1 - y0]

    def other_frames(self, count: int = 4) -> list[int]:
        """Up to `count` other frames of the open source, spread over it (for learning proposals)."""
        source = self.window.sources.source
        if source is None or not source.count or source.count < 2:
            return []
        n, here = source.count, self.window.source_panel.slider.value()
        picks = sorted({round(i * (n - 1) / max(1, count)) for i in range(count + 1)} - {here})
        return picks[:count]

    def propose_several(self) -> None:
        """Propose on this frame and learn from other frames of the source: boxes grow to the longest value."""
        self.propose(frames=self.other_frames())

    def propose(self, region: list[int] | None = None, frames: list[int] | None = None) -> None:
        """Detect text (in the visible part of the frame when zoomed in) and offer label/value pairs.

        With `frames` (indexes of the open source), the proposals are learned from those frames too.
        """
        w = self.window
        image = w.doc.image
        if image is None:
            return
        region = region or self.visible_region()
        taken = w.doc.draft.names()
        others = []
        for i in frames or ():
            try:
                others.append(w.sources.source.frame_at(i))
            except Exception as exc:  # noqa: BLE001 - a frame that cannot be read is left out
                log.warning("frame %d left out of the proposals: %s", i, exc)
        w.statusBar().showMessage(self.tr("Detecting text on %n frame(s)…", "", 1 + len(others)))
        w.bottom_tabs.setCurrentWidget(w.proposals)
        engine = w.live.engine()

        def detect(img: np.ndarray) -> list:
            from qcedge.ocr_templates.engines.base import TextBox

            if region is None or img is not image:
                return engine.detect(img)
            x, y, width, height = region
            return [TextBox((b.box[0] + x, b.box[1] + y, b.box[2], b.box[3]), b.text, b.confidence)
                    for b in engine.detect(img[y:y + height, x:x + width])]

        def work(job: Job) -> list[Proposal]:
            first = propose_fields(detect(image), image, taken)
            if not others:
                return first
            rest = [propose_fields(detect(img), img, set(taken)) for img in others]
            return merge_frames(first, rest)

        self.job = Job(work, self)
        self.job.finished.connect(self._proposed)
        self.job.failed.connect(lambda msg: w.report_error(self.tr("Propose failed"), msg))
        self.job.start()

    def _proposed(self, proposals: list[Proposal]) -> None:
        w = self.window
        existing = [w.boxes.to_frame_box(f["box"]) for f in w.doc.draft.fields]
        fresh = [p for p in proposals if not any(overlap(p.box, b) > SAME_BOX for b in existing)]
        w.proposals.set_proposals(fresh)
        w.statusBar().showMessage(self.tr("%n proposal(s)", "", len(fresh)), 5000)

    def show_on_canvas(self) -> None:
        self.window.canvas.set_proposals([(list(p.box), p.likely) for p in self.window.proposals.proposals])

    def accept(self, proposals: list[Proposal]) -> None:
        """The accepted proposals become fields (one undo step); the last one is selected."""
        w = self.window
        items = []
        for p in proposals:
            data = p.to_field()
            data["box"] = w.boxes.to_reference_box(data["box"])
            data["name"] = w.doc.draft.unique_name(p.name) if p.name in w.doc.draft.names() else p.name
            items.append(("field", data))
        if items:
            w.doc.add_items(items, self.tr("Accept proposals") if len(items) > 1 else self.tr("Accept proposal"))
            w.canvas.show_marker(None)
            name = items[-1][1]["name"]
            # the selection follows, the view and the proposals list stay where they are
            w.canvas.select_name(name)
            w.items.select(name)
            w.edit_item(name)

    def accept_at(self, index: int) -> None:
        """Accept the proposal at `index` (double-clicked on the canvas)."""
        panel = self.window.proposals
        if index < len(panel.proposals):
            panel.accept_one(panel.proposals[index])

    def reject_at(self, index: int) -> None:
        panel = self.window.proposals
        if index < len(panel.proposals):
            panel.reject_one(panel.proposals[index])
