"""Dock panels: the items list with live results, proposals, the source scrubber and the test table."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea,
                               QSlider, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from qcedge.ocr_templates.results import FieldResult
from qcedge.teaching_mode.canvas import bgr_to_qimage
from qcedge.teaching_mode.live_read import format_value
from qcedge.teaching_mode.propose import Proposal

log = logging.getLogger(__name__)

RED = QColor(255, 205, 205)
GREEN = QColor(215, 245, 215)
GREY = QColor(235, 235, 235)


def _item(text: str, tip: str | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        item.setToolTip(tip)
    return item


class ItemsPanel(QWidget):
    """Every anchor and field with its live OCR text, typed value, confidence and validity."""

    selected = Signal(str)
    COLS = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.table = QTableWidget(0, self.COLS)
        self.table.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Kind"), self.tr("Value"),
                                              self.tr("Confidence"), self.tr("Valid"), self.tr("Text")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection)
        layout.addWidget(self.table)
        self.checks = QLabel()
        self.checks.setWordWrap(True)
        layout.addWidget(self.checks)
        self.rows: dict[str, int] = {}
        self.results: dict[str, FieldResult] = {}
        self.anchors: dict[str, tuple[Any, list[str]]] = {}   # name -> (AnchorStatus or None, warnings)

    def set_items(self, items: list[tuple[str, str]]) -> None:
        """(name, kind) in display order."""
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.rows = {}
        for name, kind in items:
            r = self.table.rowCount()
            self.table.insertRow(r)
            self.rows[name] = r
            self.table.setItem(r, 0, _item(name))
            kinds = {"anchor": self.tr("anchor"), "value": self.tr("value"), "table": self.tr("table")}
            self.table.setItem(r, 1, _item(kinds.get(kind, kind)))
            for c in range(2, self.COLS):
                self.table.setItem(r, c, _item(""))
            if name in self.results:
                self._fill(r, self.results[name])
            if name in self.anchors:
                self._fill_anchor(r, *self.anchors[name])
        self.table.blockSignals(False)

    def warning_text(self, warning: str) -> str:
        """A weak-anchor warning of teaching_mode.diagnostics, translated."""
        import re

        fixed = {"too small to be found reliably": self.tr("too small to be found reliably"),
                 "at the edge of the frame: a window moved to the screen's edge cuts it off":
                     self.tr("at the edge of the frame: a window moved to the screen's edge cuts it off"),
                 "crosses a window edge: what is beside the window changes when it moves":
                     self.tr("crosses a window edge: what is beside the window changes when it moves"),
                 "nearly plain: nothing to recognise": self.tr("nearly plain: nothing to recognise")}
        if warning in fixed:
            return fixed[warning]
        m = re.match(r"also on template (\S+) \(([\d.]+)\): not distinctive in the pack$", warning)
        if m:
            return self.tr("also on template %1 (%2): not distinctive in the pack").replace("%1", m.group(1)).replace(
                "%2", m.group(2))
        return warning

    def set_anchor(self, name: str, status: Any, warnings: list[str]) -> None:
        """An anchor's live score on the frame shown (None: on its own reference) and its warnings."""
        self.anchors[name] = (status, list(warnings))
        r = self.rows.get(name)
        if r is not None:
            self._fill_anchor(r, status, warnings)

    def _fill_anchor(self, r: int, status: Any, warnings: list[str]) -> None:
        if status is None:
            self.table.item(r, 2).setText(self.tr("reference"))
            self.table.item(r, 3).setText("1.00")
            self.table.item(r, 4).setText("✓")
            color = GREEN
        else:
            self.table.item(r, 2).setText(self.tr("score %1").replace("%1", f"{status.score:.2f}"))
            self.table.item(r, 3).setText(f"{status.score:.2f}")
            reason = self.tr("outside the frame") if status.outside else (
                self.tr("below %1").replace("%1", f"{status.floor:.2f}") if status.failed else "")
            if status.hidden is not None:
                reason = self.tr("not seen (%1): not counted").replace(
                    "%1", self.tr("outside the frame") if status.outside else status.hidden)
            self.table.item(r, 4).setText(("✗ " + reason) if status.failed else ("○ " + reason) if reason else "✓")
            self.table.item(r, 4).setToolTip(reason)
            color = RED if status.failed else GREEN
        shown = [self.warning_text(w) for w in warnings]
        self.table.item(r, 5).setText("⚠ " + "; ".join(shown) if shown else "")
        self.table.item(r, 5).setToolTip("\n".join(shown))
        for c in range(self.COLS):
            self.table.item(r, c).setBackground(QBrush(QColor(255, 235, 190) if warnings and color is GREEN else color))

    def set_result(self, name: str, result: FieldResult | None) -> None:
        if result is None:
            self.results.pop(name, None)
        else:
            self.results[name] = result
        r = self.rows.get(name)
        if r is not None:
            if result is None:
                for c in range(2, self.COLS):
                    self.table.item(r, c).setText("")
                    self.table.item(r, c).setBackground(QBrush())
            else:
                self._fill(r, result)

    def _fill(self, r: int, res: FieldResult) -> None:
        lines = res.text.splitlines() or [""]
        self.table.item(r, 5).setText(lines[0] + (" …" if len(lines) > 1 else ""))
        self.table.item(r, 5).setToolTip(res.text)
        self.table.item(r, 2).setText(format_value(res))
        self.table.item(r, 3).setText(f"{res.confidence:.2f}")
        reasons = "; ".join(res.reasons)
        short = reasons if len(reasons) <= 28 else reasons[:27] + "…"
        self.table.item(r, 4).setText("✓" if res.valid else f"✗ {short}")
        self.table.item(r, 4).setToolTip(reasons)
        color = GREEN if res.valid else RED
        for c in range(self.COLS):
            self.table.item(r, c).setBackground(QBrush(color))

    def select(self, name: str | None) -> None:
        self.table.blockSignals(True)
        self.table.clearSelection()
        if name in self.rows:
            self.table.selectRow(self.rows[name])
        self.table.blockSignals(False)

    def _selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.selected.emit(self.table.item(rows[0].row(), 0).text())


class ProposalsPanel(QWidget):
    """Label/value pairs found on the frame, surest form fields first; one click accepts or rejects one."""

    accept = Signal(list)  # [Proposal]
    highlight = Signal(list)  # box ([] = none)
    changed = Signal()     # the list changed (accepted, rejected or new proposals)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.info = QLabel(self.tr("Propose (Ctrl+P) detects all text on the frame and offers label/value pairs."))
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels(["", "", self.tr("Name"), self.tr("Label"), self.tr("Value text"),
                                              self.tr("Type"), self.tr("Unit")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.accept_all = QPushButton(self.tr("Accept the likely ones"))
        self.accept_all.setToolTip(self.tr("Add every proposal that looks like a form field (not the greyed list, "
                                           "toolbar or status-bar text) as a field"))
        self.accept_all.clicked.connect(self.accept_likely)
        row.addWidget(self.accept_all)
        self.reject_rest = QPushButton(self.tr("Clear"))
        self.reject_rest.setToolTip(self.tr("Drop all proposals"))
        self.reject_rest.clicked.connect(lambda: self.set_proposals([]))
        row.addWidget(self.reject_rest)
        row.addStretch(1)
        layout.addLayout(row)
        self.proposals: list[Proposal] = []

    def set_proposals(self, proposals: list[Proposal], keep_place: bool = False) -> None:
        scroll = self.table.verticalScrollBar().value()
        current = self.table.currentRow()
        self.proposals = list(proposals)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for p in self.proposals:
            r = self.table.rowCount()
            self.table.insertRow(r)
            button = QPushButton(self.tr("Accept"))
            button.setToolTip(self.tr("Add «%1» as the field %2").replace("%1", p.text).replace("%2", p.name))
            button.clicked.connect(lambda _=False, p=p: self.accept_one(p))
            self.table.setCellWidget(r, 0, button)
            reject = QPushButton(self.tr("Reject"))
            reject.setToolTip(self.tr("Drop this proposal"))
            reject.clicked.connect(lambda _=False, p=p: self.reject_one(p))
            self.table.setCellWidget(r, 1, reject)
            values = " | ".join(dict.fromkeys(p.texts)) if len(p.texts) > 1 else p.text
            from qcedge.teaching_mode.editor import type_name

            kind = type_name(p.spec.get("type", "")) + (
                " (" + ", ".join(p.spec["choices"]) + ")" if p.spec.get("choices") else "")
            for c, text in enumerate((p.name, p.label, values, kind, p.spec.get("unit", "")), 2):
                item = _item(text)
                if not p.likely:
                    item.setForeground(QBrush(QColor(140, 140, 140)))
                    item.setToolTip(self.tr("Probably not a form field (list, toolbar or status-bar text)"))
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        likely = sum(p.likely for p in self.proposals)
        self.info.setText(self.tr("%n proposal(s): click Accept to add one as a field, or double-click its box on "
                                  "the frame.", "", len(self.proposals))
                          + " " + self.tr("%1 look like form fields.").replace("%1", str(likely)))
        self.accept_all.setEnabled(likely > 0)
        if keep_place and self.proposals:
            self.table.verticalScrollBar().setValue(scroll)
            self.table.blockSignals(True)
            self.table.setCurrentCell(min(max(0, current), len(self.proposals) - 1), 2)
            self.table.blockSignals(False)
        self.highlight.emit([])
        self.changed.emit()

    def accept_likely(self) -> None:
        chosen = [p for p in self.proposals if p.likely]
        if chosen:
            self.accept.emit(chosen)
            self.set_proposals([p for p in self.proposals if not p.likely], keep_place=True)

    def accept_one(self, p: Proposal) -> None:
        self.accept.emit([p])
        if p in self.proposals:
            self.set_proposals([q for q in self.proposals if q is not p], keep_place=True)

    def reject_one(self, p: Proposal) -> None:
        if p in self.proposals:
            self.set_proposals([q for q in self.proposals if q is not p], keep_place=True)

    def select_index(self, index: int) -> None:
        if 0 <= index < len(self.proposals):
            self.table.setCurrentCell(index, 2)
            self.table.scrollToItem(self.table.item(index, 2))

    def _selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.proposals):
            self.highlight.emit(list(self.proposals[rows[0].row()].box))


class SourcePanel(QWidget):
    """Scrub a video or a folder with a slider; freeze or resume a live source."""

    frameRequested = Signal(int)
    freezeToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.label = QLabel(self.tr("No source"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setTracking(False)
        self.position = QLabel("")
        self.freeze = QPushButton(self.tr("Freeze"))
        self.freeze.setCheckable(True)
        self.freeze.setEnabled(False)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position)
        layout.addWidget(self.freeze)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderMoved.connect(lambda v: self.position.setText(self._pos_text(v)))
        self.freeze.toggled.connect(self.freezeToggled)
        self.count = 0
        self.names: list[str] = []

    def set_source(self, description: str, count: int | None, names: list[str]) -> None:
        self.label.setText(description)
        self.count, self.names = count or 0, names
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, (count or 1) - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(bool(count and count > 1))
        self.freeze.setEnabled(count is None)
        self.freeze.setChecked(False)
        self.position.setText(self._pos_text(0) if count else self.tr("live"))

    def _pos_text(self, v: int) -> str:
        name = self.names[v] if v < len(self.names) else ""
        return f"{v + 1}/{self.count} {name}"

    def _moved(self, v: int) -> None:
        self.position.setText(self._pos_text(v))
        self.frameRequested.emit(v)


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
        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._chosen)
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
        self.table.setItem(r, 0, _item(outcome.name))
        match_text = f"{outcome.match.score:.2f}"
        failing = [a for a in report.anchors if a.failed] if report is not None else []
        if failing:
            match_text += " ✗ " + ", ".join(a.name + (" " + self.tr("outside the frame") if a.outside else "")
                                            for a in failing)
        elif report is not None and any(a.hidden is not None for a in report.anchors):
            match_text += " ○ " + ", ".join(a.name for a in report.anchors if a.hidden is not None)
        self.table.setItem(r, 1, _item(match_text, self.match_summary(report) if report is not None else None))
        self.table.setItem(r, 2, _item(self.status_text(status), outcome.error))
        reading = outcome.reading
        checks = "" if reading is None else ", ".join(("✓ " if c.ok else "✗ ") + c.name for c in reading.checks)
        self.table.setItem(r, 3, _item(checks))
        row_color = GREY if status == "no match" else RED if status in ("needs_review", "error") else GREEN
        for c in range(4):
            self.table.item(r, c).setBackground(QBrush(row_color))
        for c, name in enumerate(self.field_names, 4):
            res = reading.fields.get(name) if reading else None
            if res is None:
                cell = _item("")
                cell.setBackground(QBrush(GREY))
            else:
                cell = _item(format_value(res) if res.valid else f"{res.text} ✗",
                             "; ".join(res.reasons) or f"{res.text} ({res.confidence:.2f})")
                cell.setBackground(QBrush(GREEN if res.valid else RED))
            self.table.setItem(r, c, cell)
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
