"""The Test tab: what the template read per frame (failures highlighted), the failed fields' crops,
the match explained anchor by anchor."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QPixmap
from PySide6.QtWidgets import QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from qcedge.teaching_mode.canvas import bgr_to_qimage
from qcedge.teaching_mode.live_read import format_value
from qcedge.teaching_mode.table_cells import GREEN, GREY, RED, cell, row_table


class TestPanel(QWidget):
    """What the template read per frame; failures highlighted, their crops shown."""

    rowChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.summary = QLabel(self.tr("Test (Ctrl+T) runs the template over a folder of frames or a recording."))
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.table = row_table([], self._chosen, fit=False)
        split.addWidget(self.table)
        self.crops_box = QWidget()
        self.crops_layout = QVBoxLayout(self.crops_box)
        self.crops_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.crops_box)
        split.addWidget(scroll)
        split.setSizes([700, 300])
        layout.addWidget(split, 1)
        self.field_names: list[str] = []

    def start(self, field_names: list[str], description: str) -> None:
        self.field_names = field_names
        self.table.setRowCount(0)
        self.table.setColumnCount(4 + len(field_names))
        self.table.setHorizontalHeaderLabels([self.tr("Frame"), self.tr("Match (failing anchors)"), self.tr("Status"),
                                              self.tr("Checks"), *field_names])
        self.summary.setText(description)
        self._clear_crops()

    def anchor_reason(self, a: Any) -> str:
        """Why an anchor failed (or was not counted), translated."""
        if a.hidden is not None:
            return self.tr("not seen (%1): not counted").replace(
                "%1", self.tr("outside the frame") if a.outside else a.hidden)
        if a.outside:
            return self.tr("outside the frame")
        if a.failed:
            return self.tr("below %1").replace("%1", f"{a.floor:.2f}")
        return ""

    def match_summary(self, report: Any) -> str:
        """'no match: score 0.66 (threshold 0.80); title_bar outside the frame', translated."""
        head = (self.tr("match") if report.matched else self.tr("no match")) + self.tr(
            ": score %1 (threshold %2)").replace("%1", f"{report.score:.2f}").replace("%2", f"{report.threshold:.2f}")
        bad = [a for a in report.anchors if a.failed or a.hidden is not None]
        if bad:
            head += "; " + ", ".join(f"{a.name} {self.anchor_reason(a)}" for a in bad)
        if not report.matched and not [a for a in bad if a.failed] and report.anchors:
            # every anchor passed its floor: the mean fell short (or a text anchor read otherwise)
            weakest = min(report.anchors, key=lambda a: a.score)
            head += "; " + self.tr("the anchors together score below the threshold; weakest: %1 %2").replace(
                "%1", weakest.name).replace("%2", f"{weakest.score:.2f}")
        return head

    def status_text(self, status: str) -> str:
        return {"complete": self.tr("complete"), "needs_review": self.tr("needs review"),
                "no match": self.tr("no match"), "error": self.tr("error")}.get(status, status)

    def add_outcome(self, outcome: Any, report: Any = None) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        status = outcome.status
        self.table.setItem(r, 0, cell(outcome.name))
        match_text = f"{outcome.match.score:.2f}"
        failing = [a for a in report.anchors if a.failed] if report is not None else []
        if failing:
            match_text += " ✗ " + ", ".join(a.name + (" " + self.tr("outside the frame") if a.outside else "")
                                            for a in failing)
        elif report is not None and any(a.hidden is not None for a in report.anchors):
            match_text += " ○ " + ", ".join(a.name for a in report.anchors if a.hidden is not None)
        self.table.setItem(r, 1, cell(match_text, self.match_summary(report) if report is not None else None))
        self.table.setItem(r, 2, cell(self.status_text(status), outcome.error))
        reading = outcome.reading
        checks = "" if reading is None else ", ".join(("✓ " if c.ok else "✗ ") + c.name for c in reading.checks)
        self.table.setItem(r, 3, cell(checks))
        row_color = GREY if status == "no match" else RED if status in ("needs_review", "error") else GREEN
        for c in range(4):
            self.table.item(r, c).setBackground(QBrush(row_color))
        for c, name in enumerate(self.field_names, 4):
            res = reading.fields.get(name) if reading else None
            if res is None:
                value_cell = cell("")
                value_cell.setBackground(QBrush(GREY))
            else:
                value_cell = cell(format_value(res) if res.valid else f"{res.text} ✗",
                                   "; ".join(res.reasons) or f"{res.text} ({res.confidence:.2f})")
                value_cell.setBackground(QBrush(GREEN if res.valid else RED))
            self.table.setItem(r, c, value_cell)
        if reading and reading.checks:
            failed = [c for c in reading.checks if not c.ok]
            if failed:
                self.table.item(r, 3).setBackground(QBrush(RED))
                self.table.item(r, 3).setToolTip("; ".join(c.message for c in failed))

    def finish(self, text: str) -> None:
        self.summary.setText(text)
        self.table.resizeColumnsToContents()

    def _clear_crops(self) -> None:
        while self.crops_layout.count() > 1:
            w = self.crops_layout.takeAt(0).widget()
            if w is not None:
                w.deleteLater()

    def show_crops(self, crops: list[tuple[str, np.ndarray | None, str]], header: str = "") -> None:
        """(field name, crop, what was read) for the failed fields of the chosen frame; `header`: the
        match explained (per-anchor scores)."""
        self._clear_crops()
        if header:
            label = QLabel(header)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.crops_layout.insertWidget(self.crops_layout.count() - 1, label)
        if not crops:
            self.crops_layout.insertWidget(0, QLabel(self.tr("No failed fields in this frame.")))
        for i, (name, crop, text) in enumerate(crops):
            caption = QLabel(f"<b>{name}</b>: {text}")
            caption.setWordWrap(True)
            self.crops_layout.insertWidget(self.crops_layout.count() - 1, caption)
            if crop is not None and crop.size:
                pic = QLabel()
                pix = QPixmap.fromImage(bgr_to_qimage(crop))
                if pix.height() < 40:
                    pix = pix.scaledToHeight(pix.height() * 2)
                pic.setPixmap(pix)
                self.crops_layout.insertWidget(self.crops_layout.count() - 1, pic)

    def _chosen(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.rowChosen.emit(rows[0].row())
