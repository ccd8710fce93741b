"""The teaching window's frame source: open it, scrub it, follow or freeze a live one, match the template on a frame."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QInputDialog, QMainWindow

from qcedge.ocr_templates.errors import TemplateError
from qcedge.teaching_mode import dialogs
from qcedge.teaching_mode.sources import OpenedSource, OpenError, display_path, open_any
from qcedge.teaching_mode.workers import Job

log = logging.getLogger(__name__)


class SourceControl(QObject):
    """The open source of a teaching window (`window.sources`): still, folder, video, DICOM or live.

    A frame shown with taught anchors is matched first, so the boxes are shown where the
    template sits on it; a live source is read every 200 ms unless frozen (F9).
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.source: OpenedSource | None = None
        self.frozen = False
        self.match_job: Job | None = None
        self._match_seq = 0
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(200)
        self.live_timer.timeout.connect(self.live_tick)

    def open_source(self, spec: str) -> None:
        w = self.window
        try:
            source = open_any(spec)
        except OpenError as exc:
            w.report_error(self.tr("Cannot open the source"), str(exc))
            return
        if self.source is not None:
            self.source.close()
        self.source = source
        self.frozen = False
        w.act_freeze.setChecked(False)
        kinds = {"image": self.tr("Still image"), "folder": self.tr("Folder of stills"), "video": self.tr("Video file"),
                 "dicom": self.tr("DICOM screen save"), "live": self.tr("Live source")}
        w.source_panel.set_source(f"{kinds.get(source.kind, source.kind)}: {display_path(spec)}", source.count,
                                  source.names)
        if source.kind == "live":
            self.live_timer.start()
            self.live_tick()
        else:
            self.live_timer.stop()
            self.show_frame(0)
        if source.kind != "live":
            w.files.add_recent(spec)
        w.statusBar().showMessage(self.tr("Opened %1").replace("%1", display_path(spec)), 5000)

    def is_following(self) -> bool:
        """True while a live source is open and not frozen (its frames keep coming)."""
        return self.source is not None and self.source.kind == "live" and not self.frozen

    def show_frame(self, index: int) -> None:
        if self.source is None or self.source.count is None:
            return
        try:
            image = self.source.frame_at(index)
        except Exception as exc:  # noqa: BLE001
            self.window.report_error(self.tr("Cannot read the frame"), str(exc))
            return
        self.show_image(image)

    def show_image(self, image: np.ndarray) -> None:
        """Show a frame: with taught anchors the template is matched on it and the boxes are shown
        (and edited) where they are on that frame; without, the frame becomes the reference."""
        doc = self.window.doc
        template = self._match_template()
        if template is None:
            doc.set_frame(image)
            return
        self._match(image, template)

    def _match(self, image: np.ndarray, template: Any) -> None:
        """Match the template on a frame in the background; the boxes follow it when it is done."""
        doc = self.window.doc
        self._match_seq += 1
        seq, reference = self._match_seq, doc.draft.image

        def work(job: Job) -> Any:
            from qcedge.ocr_templates import match_template

            return match_template(image, template, reference=reference)

        def done(match: Any) -> None:
            if seq != self._match_seq:
                return  # another frame was asked for since
            doc.set_frame(image, match)
            self._show_match(template, match, image)

        job = Job(work, self)
        job.finished.connect(done)
        job.failed.connect(lambda msg: self.window.report_error(self.tr("Cannot match the template"), msg))
        self.match_job = job.start()

    def _match_template(self) -> Any:
        """The draft as a Template to match (None: no anchors or reference yet, or not valid yet)."""
        draft = self.window.doc.draft
        if not draft.anchors or draft.image is None:
            return None
        try:
            return draft.to_template()
        except (TemplateError, ValueError) as exc:
            log.debug("the template is not valid yet (%s)", exc)
            return None

    def _show_match(self, template: Any, match: Any, image: np.ndarray) -> None:
        """Each anchor's score on its row; a failed match names its failing anchors."""
        from qcedge.teaching_mode.diagnostics import explain

        w = self.window
        report = explain(template, match, image.shape)
        for status in report.anchors:
            w.items.set_anchor(status.name, status, w.boxes.anchor_notes.get(status.name, []))
        if match.matched:
            w.statusBar().showMessage(self.tr("Template matched on this frame (score %1): boxes are shown where "
                                              "they are on it").replace("%1", f"{match.score:.2f}"), 8000)
        else:
            w.statusBar().showMessage(self.tr("No match on this frame: %1 (another screen? File > New template, "
                                              "or Template > Use this frame as the reference)").replace(
                "%1", w.test_panel.match_summary(report)), 20000)

    def step_frame(self, step: int) -> None:
        """Show the previous (-1) or next (+1) frame of a scrubbable source."""
        s = self.window.source_panel.slider
        if s.isEnabled():
            s.setValue(max(0, min(s.maximum(), s.value() + step)))

    def live_tick(self) -> None:
        if not self.is_following():
            return
        try:
            image = self.source.read()
        except Exception as exc:  # noqa: BLE001
            self.live_timer.stop()
            self.window.report_error(self.tr("The live source stopped"), str(exc))
            return
        if image is not None:
            draft = self.window.doc.draft
            if draft.anchors and draft.image is not None:
                # the template is taught: follow it on the live frames (one match at a time); while the draft
                # is not valid, the live frames do not replace its reference (a save would keep a stray frame)
                if self.match_job is None or not self.match_job.thread.is_alive():
                    template = self._match_template()
                    if template is not None:
                        self._match(image, template)
            else:
                self.window.doc.set_frame(image)

    def toggle_freeze(self) -> None:
        w = self.window
        self.frozen = w.act_freeze.isChecked()
        w.source_panel.freeze.blockSignals(True)
        w.source_panel.freeze.setChecked(self.frozen)
        w.source_panel.freeze.blockSignals(False)
        if self.frozen:
            w.reading.request_all()
        w.statusBar().showMessage(self.tr("Frame frozen") if self.frozen else self.tr("Live"), 3000)

    def freeze_from_panel(self, on: bool) -> None:
        self.window.act_freeze.setChecked(on)
        self.toggle_freeze()

    def open_source_dialog(self) -> None:
        path = dialogs.open_file(self.window, self.tr("Open a still, video or DICOM file"),
                                 self.tr("Frames (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.mp4 *.avi *.mkv *.mov *.dcm);;All files (*)"))
        if path:
            self.open_source(path)

    def open_live_dialog(self) -> None:
        spec, ok = QInputDialog.getText(self.window, self.tr("Open a live source"),
                                        self.tr("Source (screen, screen:1, device:0, udp://…, rtsp://…, a folder):"),
                                        text="screen")
        self.window.after_dialog()
        if ok and spec.strip():
            self.open_source(spec.strip())

    def close(self) -> None:
        """Stop following and close the source (the window is closing)."""
        self.live_timer.stop()
        if self.source is not None:
            self.source.close()
            self.source = None
