"""Dock panels: the items list with live results, the proposals, the source scrubber (the test table: outcomes_panel)."""
from __future__ import annotations

import logging
import re
from typing import Any, NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from qcedge.ocr_templates.results import FieldResult
from qcedge.teaching_mode.live_read import format_value
from qcedge.teaching_mode.propose import Proposal
from qcedge.teaching_mode.table_cells import GREEN, RED, cell, row_table
from qcedge.teaching_mode.value_types import type_name

log = logging.getLogger(__name__)


class AnchorRow(NamedTuple):
    """What the items list shows of an anchor."""

    status: Any           # diagnostics.AnchorStatus on the frame shown; None on its own reference
    warnings: list[str]   # why it is weak (diagnostics.anchor_warnings)


class ItemsPanel(QWidget):
    """Every anchor and field with its live OCR text, typed value, confidence and validity."""

    selected = Signal(str)
    COLS = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.table = row_table([self.tr("Name"), self.tr("Kind"), self.tr("Value"), self.tr("Confidence"),
                                self.tr("Valid"), self.tr("Text")], self._selection)
        layout.addWidget(self.table)
        self.checks = QLabel()
        self.checks.setWordWrap(True)
        layout.addWidget(self.checks)
        self.rows: dict[str, int] = {}
        self.results: dict[str, FieldResult] = {}
        self.anchors: dict[str, AnchorRow] = {}

    def set_items(self, items: list[tuple[str, str]]) -> None:
        """(name, kind) in display order."""
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.rows = {}
        for name, kind in items:
            r = self.table.rowCount()
            self.table.insertRow(r)
            self.rows[name] = r
            self.table.setItem(r, 0, cell(name))
            kinds = {"anchor": self.tr("anchor"), "value": self.tr("value"), "table": self.tr("table")}
            self.table.setItem(r, 1, cell(kinds.get(kind, kind)))
            for c in range(2, self.COLS):
                self.table.setItem(r, c, cell(""))
            if name in self.results:
                self._fill(r, self.results[name])
            if name in self.anchors:
                self._fill_anchor(r, *self.anchors[name])
        self.table.blockSignals(False)

    def warning_text(self, warning: str) -> str:
        """A weak-anchor warning of teaching_mode.diagnostics, translated."""
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
        self.anchors[name] = AnchorRow(status, list(warnings))
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
        self.table = row_table(["", "", self.tr("Name"), self.tr("Label"), self.tr("Value text"), self.tr("Type"),
                                self.tr("Unit")], self._selection)
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
            kind = type_name(p.spec.get("type", "")) + (
                " (" + ", ".join(p.spec["choices"]) + ")" if p.spec.get("choices") else "")
            for c, text in enumerate((p.name, p.label, values, kind, p.spec.get("unit", "")), 2):
                item = cell(text)
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
