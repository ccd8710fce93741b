"""The editor of the selected box: a value field (type, unit, regex, range ...), a table field (rows,
columns) or an anchor. The template's own form and the checks are in template_form and checks_editor."""
from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QStackedWidget, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from qcedge.teaching_mode.document import TeachDocument
from qcedge.teaching_mode.table_columns import COLUMN_KEYS, auto_columns, column_cells, column_from_cells
from qcedge.teaching_mode.value_types import VALUE_TYPES, parse_number, type_name

log = logging.getLogger(__name__)


def _clean(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Split editor values into keys to set and keys to remove (empty = not set)."""
    keep = {k: v for k, v in data.items() if v not in (None, "", [])}
    return keep, tuple(k for k, v in data.items() if v in (None, "", []))



class ValueSpecForm(QWidget):
    """Type, unit, regex, range, allowed characters, choices, required, confidence floor."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.type = QComboBox()
        for t in VALUE_TYPES:
            self.type.addItem(type_name(t), t)
        self.unit = QLineEdit()
        self.regex = QLineEdit()
        self.range_min = QLineEdit()
        self.range_max = QLineEdit()
        self.range_min.setPlaceholderText(self.tr("min"))
        self.range_max.setPlaceholderText(self.tr("max"))
        rng = QHBoxLayout()
        rng.addWidget(self.range_min)
        rng.addWidget(self.range_max)
        self.allowed = QLineEdit()
        self.allowed.setPlaceholderText("0123456789.")
        self.choices = QLineEdit()
        self.choices.setPlaceholderText(self.tr("comma separated (enum)"))
        self.fmt = QLineEdit()
        self.fmt.setPlaceholderText("%Y-%m-%d")
        self.required = QCheckBox(self.tr("required"))
        self.confusions = QCheckBox(self.tr("fix O/0, l/1, S/5 confusions"))
        self.confusions.setTristate(True)
        self.floor = QLineEdit()
        self.floor.setPlaceholderText(self.tr("template default"))
        form.addRow(self.tr("Type"), self.type)
        form.addRow(self.tr("Unit"), self.unit)
        form.addRow(self.tr("Regex"), self.regex)
        form.addRow(self.tr("Range"), rng)
        form.addRow(self.tr("Allowed characters"), self.allowed)
        form.addRow(self.tr("Choices"), self.choices)
        form.addRow(self.tr("Format"), self.fmt)
        form.addRow(self.tr("Confidence floor"), self.floor)
        form.addRow("", self.required)
        form.addRow("", self.confusions)
        for w in (self.unit, self.regex, self.range_min, self.range_max, self.allowed, self.choices, self.fmt, self.floor):
            w.editingFinished.connect(self.changed)
        self.type.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.required.toggled.connect(lambda _: self.changed.emit())
        self.confusions.stateChanged.connect(lambda _: self.changed.emit())

    def load(self, d: dict[str, Any]) -> None:
        for w in self.findChildren(QWidget):
            w.blockSignals(True)
        self.type.setCurrentIndex(max(0, self.type.findData(d.get("type", "text"))))
        self.unit.setText(d.get("unit") or "")
        self.regex.setText(d.get("regex") or "")
        rng = d.get("range")
        self.range_min.setText("" if not rng else str(rng[0]))
        self.range_max.setText("" if not rng else str(rng[1]))
        self.allowed.setText(d.get("allowed") or "")
        self.choices.setText(", ".join(d.get("choices") or []))
        self.fmt.setText(d.get("format") or "")
        self.required.setChecked(d.get("required", True))
        conf = d.get("confusions")
        self.confusions.setCheckState(Qt.CheckState.PartiallyChecked if conf is None or isinstance(conf, dict)
                                      else Qt.CheckState.Checked if conf else Qt.CheckState.Unchecked)
        self._conf_map = conf if isinstance(conf, dict) else None
        self.floor.setText("" if d.get("confidence_floor") is None else str(d["confidence_floor"]))
        for w in self.findChildren(QWidget):
            w.blockSignals(False)

    def values(self) -> dict[str, Any]:
        lo, hi = parse_number(self.range_min.text()), parse_number(self.range_max.text())
        state = self.confusions.checkState()
        conf: Any = self._conf_map if state == Qt.CheckState.PartiallyChecked else state == Qt.CheckState.Checked
        return {
            "type": self.type.currentData() or "text",
            "unit": self.unit.text().strip(),
            "regex": self.regex.text(),
            "range": [lo, hi] if lo is not None and hi is not None else None,
            "allowed": self.allowed.text(),
            "choices": [c.strip() for c in self.choices.text().replace("，", ",").split(",") if c.strip()],
            "format": self.fmt.text().strip(),
            "required": None if self.required.isChecked() else False,
            "confusions": conf,
            "confidence_floor": parse_number(self.floor.text()),
        }


class FieldEditor(QWidget):
    """Edits the selected item of the document (a value field, a table field or an anchor)."""

    def __init__(self, doc: TeachDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.name: str | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel(self.tr("Select a box, or draw one (F: field, A: anchor, T: table)"))
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        common = QFormLayout()
        self.name_edit = QLineEdit()
        self.label_edit = QLineEdit()
        self.box_spins = [QSpinBox() for _ in range(4)]
        box_row = QHBoxLayout()
        for spin, tip in zip(self.box_spins, ("x", "y", "w", "h")):
            spin.setRange(0, 20000)
            spin.setToolTip(tip)
            spin.setKeyboardTracking(False)
            box_row.addWidget(spin)
            spin.valueChanged.connect(self._box_edited)
        self.personal = QCheckBox(self.tr("personal data (patient name, ID)"))
        self.identity = QCheckBox(self.tr("part of the record identity"))
        common.addRow(self.tr("Name"), self.name_edit)
        common.addRow(self.tr("Label"), self.label_edit)
        common.addRow(self.tr("Box x, y, w, h"), box_row)
        common.addRow("", self.personal)
        common.addRow("", self.identity)
        layout.addLayout(common)
        self.stack = QStackedWidget()
        # value field
        self.spec = ValueSpecForm()
        self.stack.addWidget(self.spec)
        # table field
        table_page = QWidget()
        tl = QVBoxLayout(table_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tform = QFormLayout()
        self.row_height = QSpinBox()
        self.row_height.setRange(1, 2000)
        self.header = QSpinBox()
        self.header.setRange(0, 2000)
        self.max_rows = QSpinBox()
        self.max_rows.setRange(1, 1000)
        self.min_rows = QSpinBox()
        self.min_rows.setRange(0, 1000)
        tform.addRow(self.tr("Row height"), self.row_height)
        tform.addRow(self.tr("Header height"), self.header)
        tform.addRow(self.tr("Max rows"), self.max_rows)
        tform.addRow(self.tr("Min rows"), self.min_rows)
        tl.addLayout(tform)
        self.columns = QTableWidget(0, len(COLUMN_KEYS))
        self.columns.setHorizontalHeaderLabels([self.tr("Column"), "x", "w", self.tr("Type"), self.tr("Unit"),
                                                self.tr("Regex"), self.tr("Range min..max"), self.tr("Choices")])
        self.columns.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        tl.addWidget(self.columns)
        crow = QHBoxLayout()
        self.add_col = QPushButton(self.tr("Add column"))
        self.del_col = QPushButton(self.tr("Remove column"))
        self.auto_col = QPushButton(self.tr("Columns from gaps"))
        for b in (self.add_col, self.del_col, self.auto_col):
            crow.addWidget(b)
        tl.addLayout(crow)
        self.stack.addWidget(table_page)
        # anchor
        anchor_page = QWidget()
        af = QFormLayout(anchor_page)
        self.anchor_text = QLineEdit()
        self.anchor_text.setPlaceholderText(self.tr("optional: text confirmed by OCR"))
        self.anchor_weight = QDoubleSpinBox()
        self.anchor_weight.setRange(0.01, 100)
        self.anchor_weight.setValue(1.0)
        af.addRow(self.tr("Text"), self.anchor_text)
        af.addRow(self.tr("Weight"), self.anchor_weight)
        self.stack.addWidget(anchor_page)
        layout.addWidget(self.stack)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)
        layout.addStretch(1)
        # signals
        self.name_edit.editingFinished.connect(self._commit)
        self.label_edit.editingFinished.connect(self._commit)
        self.personal.toggled.connect(lambda _: self._commit())
        self.identity.toggled.connect(self._identity)
        self.spec.changed.connect(self._commit)
        for spin in (self.row_height, self.header, self.max_rows, self.min_rows):
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda _: self._commit())
        self.columns.itemChanged.connect(lambda _: self._commit())
        self.anchor_text.editingFinished.connect(self._commit)
        self.anchor_weight.valueChanged.connect(lambda _: self._commit())
        self.add_col.clicked.connect(self._add_column)
        self.del_col.clicked.connect(self._remove_column)
        self.auto_col.clicked.connect(self._auto_columns)
        doc.itemChanged.connect(self._external_change)
        doc.itemRemoved.connect(lambda n: self.show_item(None) if n == self.name else None)
        doc.itemRenamed.connect(self._renamed)
        self.show_item(None)

    def _renamed(self, old: str, new: str) -> None:
        if old == self.name:
            self.name = new
            kind = self.doc.kind_of(new)
            self.title.setText({"anchor": self.tr("Anchor"), "table": self.tr("Table field"),
                                "value": self.tr("Field")}.get(kind or "", kind or "") + f": {new}")

    # loading ------------------------------------------------------------------------------
    def show_item(self, name: str | None) -> None:
        if name != self.name:
            self.result.clear()  # the last read belongs to the item shown before
        self.name = name
        data = self.doc.data_of(name) if name else None
        enabled = data is not None
        for w in (self.name_edit, self.label_edit, self.personal, self.identity, self.stack, *self.box_spins):
            w.setEnabled(enabled)
        if data is None:
            self.title.setText(self.tr("Select a box, or draw one (F: field, A: anchor, T: table)"))
            self.result.clear()
            return
        kind = self.doc.kind_of(name)
        self.title.setText({"anchor": self.tr("Anchor"), "table": self.tr("Table field"),
                            "value": self.tr("Field")}.get(kind, kind) + f": {name}")
        blockers = [self.name_edit, self.label_edit, self.personal, self.identity, self.row_height, self.header,
                    self.max_rows, self.min_rows, self.columns, self.anchor_text, self.anchor_weight, *self.box_spins]
        for w in blockers:
            w.blockSignals(True)
        self.name_edit.setText(name)
        self.label_edit.setText(data.get("label") or "")
        self.label_edit.setEnabled(kind != "anchor")
        self.personal.setChecked(bool(data.get("personal")))
        self.personal.setEnabled(kind != "anchor")
        self.identity.setChecked(name in self.doc.draft.identity)
        self.identity.setEnabled(kind == "value")
        for spin, v in zip(self.box_spins, data["box"]):
            spin.setValue(int(v))
        if kind == "anchor":
            self.stack.setCurrentIndex(2)
            self.anchor_text.setText(data.get("text") or "")
            self.anchor_weight.setValue(float(data.get("weight", 1.0)))
        elif kind == "table":
            self.stack.setCurrentIndex(1)
            self.row_height.setValue(int(data.get("row_height", 20)))
            self.header.setValue(int(data.get("header", 0)))
            self.max_rows.setValue(int(data.get("max_rows", 50)))
            self.min_rows.setValue(int(data.get("min_rows", 0)))
            self._load_columns(data.get("columns", []))
        else:
            self.stack.setCurrentIndex(0)
            self.spec.load(data)
        for w in blockers:
            w.blockSignals(False)

    def _load_columns(self, columns: list[dict[str, Any]]) -> None:
        self.columns.blockSignals(True)
        self.columns.setRowCount(0)
        for col in columns:
            r = self.columns.rowCount()
            self.columns.insertRow(r)
            for c, text in enumerate(column_cells(col)):
                self.columns.setItem(r, c, QTableWidgetItem(text))
        self.columns.blockSignals(False)

    def _external_change(self, name: str) -> None:
        if name != self.name:
            return
        data = self.doc.data_of(name)
        if data is None:
            return
        for spin, v in zip(self.box_spins, data["box"]):
            spin.blockSignals(True)
            spin.setValue(int(v))
            spin.blockSignals(False)

    # committing ---------------------------------------------------------------------------
    def _columns(self) -> list[dict[str, Any]]:
        out = []
        for r in range(self.columns.rowCount()):
            cell = [(self.columns.item(r, c).text().strip() if self.columns.item(r, c) else "")
                    for c in range(len(COLUMN_KEYS))]
            col = column_from_cells(cell, r)
            if col is not None:
                out.append(col)
        return out

    def _commit(self) -> None:
        if not self.name or self.doc.data_of(self.name) is None:
            return
        kind = self.doc.kind_of(self.name)
        new_name = self.name_edit.text().strip() or self.name
        if new_name != self.name and self.doc.draft.find(new_name) is not None:
            self.name_edit.setText(self.name)
            new_name = self.name
        changes: dict[str, Any] = {"name": new_name}
        if kind == "anchor":
            values = {"text": self.anchor_text.text().strip(),
                      "weight": None if self.anchor_weight.value() == 1.0 else self.anchor_weight.value()}
        elif kind == "table":
            values = {"label": self.label_edit.text().strip(), "personal": True if self.personal.isChecked() else None,
                      "row_height": self.row_height.value(), "header": self.header.value() or None,
                      "max_rows": None if self.max_rows.value() == 50 else self.max_rows.value(),
                      "min_rows": self.min_rows.value() or None, "columns": self._columns()}
        else:
            values = {"label": self.label_edit.text().strip(),
                      "personal": True if self.personal.isChecked() else None, **self.spec.values()}
        keep, remove = _clean(values)
        changes.update(keep)
        self.doc.update_item(self.name, changes, remove)

    def _identity(self, on: bool) -> None:
        if not self.name:
            return
        ident = self.doc.draft.identity
        if on and self.name not in ident:
            ident.append(self.name)
        elif not on and self.name in ident:
            ident.remove(self.name)
        self.doc.dirty = True

    def _box_edited(self) -> None:
        if not self.name:
            return
        data = self.doc.data_of(self.name)
        new = [s.value() for s in self.box_spins]
        if data is not None and list(data["box"]) != new and new[2] > 0 and new[3] > 0:
            self.doc.move_item(self.name, list(data["box"]), new, self.tr("Edit box"))

    def _add_column(self) -> None:
        data = self.doc.data_of(self.name) if self.name else None
        if data is None:
            return
        cols = self._columns()
        x = cols[-1]["x"] + cols[-1]["w"] if cols else 0
        cols.append({"name": f"col{len(cols) + 1}", "x": x, "w": max(1, min(80, data["box"][2] - x))})
        self._load_columns(cols)
        self._commit()

    def _remove_column(self) -> None:
        row = self.columns.currentRow()
        if row >= 0 and self.columns.rowCount() > 1:
            self.columns.removeRow(row)
            self._commit()

    def _auto_columns(self) -> None:
        data = self.doc.data_of(self.name) if self.name else None
        if data is None or self.doc.draft.image is None:
            return
        cols = auto_columns(self.doc.draft.image, data["box"], int(data.get("header", 0)))
        if cols:
            self._load_columns(cols)
            self._commit()
