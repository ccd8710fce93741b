"""Live OCR in the teaching window: what the worker reads, and each field's reading shown on its box,
its row and in the editor; Read all (F5) with the checks."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow

from qcedge.ocr_templates.results import FieldResult
from qcedge.teaching_mode.live_read import format_value, read_all
from qcedge.teaching_mode.mapping import item_to_frame
from qcedge.teaching_mode.workers import Job


class FieldReading(QObject):
    """Feeds the window's `LiveOcr` worker (`snapshot`) and shows what it reads (`window.reading`)."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.status = QLabel()  # 'live OCR 120 ms' in the status bar

    def snapshot(self) -> tuple[np.ndarray | None, dict[str, Any]]:
        """The frame and the template mapping as they are now, with boxes as currently dragged."""
        doc, canvas = self.window.doc, self.window.canvas
        data = doc.draft.to_data()
        image = doc.image
        if doc.mapping is not None and image is not None:
            # another frame than the reference: read it where the template sits on it (frame coordinates)
            data["fields"] = [item_to_frame(f, doc.mapping) for f in data["fields"]]
            data["anchors"] = [item_to_frame(a, doc.mapping) for a in data["anchors"]]
            data["reference"] = {**data["reference"], "width": int(image.shape[1]), "height": int(image.shape[0])}
        for f in data["fields"]:
            item = canvas.items_by_name.get(f["name"])
            if item is not None:
                f["box"] = item.box()
        return image, data

    def request_all(self) -> None:
        names = [f["name"] for f in self.window.doc.draft.fields]
        if names:
            self.window.live.request(*names)

    def show_result(self, name: str, result: FieldResult, seconds: float | None) -> None:
        """A field was read (`seconds` after it was asked for; None: by Read all)."""
        w = self.window
        if seconds is not None:
            self.status.setText(self.tr("live OCR %1 ms").replace("%1", f"{seconds * 1000:.0f}"))
        w.items.set_result(name, result)
        item = w.canvas.items_by_name.get(name)
        if item is not None:
            item.state = "valid" if result.valid else "invalid"
            item.caption = f"= {format_value(result) or result.text} ({result.confidence:.2f})"
            item.update()
        if name == w.editor.name:
            self.show_in_editor(result)

    def show_in_editor(self, result: FieldResult) -> None:
        reasons = "; ".join(result.reasons)
        self.window.editor.result.setText(self.tr("Read: «%1» → %2, confidence %3 %4")
                                          .replace("%1", result.text).replace("%2", format_value(result))
                                          .replace("%3", f"{result.confidence:.2f}")
                                          .replace("%4", "✓" if result.valid else f"✗ {reasons}"))

    def read_all_now(self) -> None:
        """Read every field and the checks (F5), off the GUI thread."""
        image, data = self.snapshot()
        if image is None or not data["fields"]:
            return
        engine = self.window.live.engine

        def work(job: Job) -> Any:
            return read_all(image, data, engine=engine())

        job = Job(work, self)
        job.finished.connect(self._read_all_done)
        job.failed.connect(lambda msg: self.window.report_error(self.tr("Cannot read the template"), msg))
        job.start()

    def _read_all_done(self, reading: Any) -> None:
        for name, res in reading.fields.items():
            self.show_result(name, res, None)
        text = ", ".join(("✓ " if c.ok else "✗ ") + c.name + (f" ({c.message})" if c.message and not c.ok else "")
                         for c in reading.checks)
        self.window.items.checks.setText(self.tr("Checks: %1").replace("%1", text) if text else "")
