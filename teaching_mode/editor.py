"""Editors: the selected field or anchor, the template's own properties, and cross-field checks."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QStackedWidget,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from qcedge.teaching_mode.document import TeachDocument
from qcedge.teaching_mode.snap import ink_mask

log = logging.getLogger(__name__)

COLUMN_KEYS = ("name", "x", "w", "type", "unit", "regex", "range", "choices")
VALUE_TYPES = ["text", "integer", "decimal", "date", "time", "datetime", "enum", "code"]
CHECK_KINDS = ["sum", "not_future", "compare"]
OPS = ["<", "<=", "==", ">=", ">", "!="]


def type_name(value_type: str) -> str:
    """A value type as shown (translated); the YAML keeps the English key."""
    from PySide6.QtCore import QCoreApplication

    names = {"text": QCoreApplication.translate("types", "text"),
             "integer": QCoreApplication.translate("types", "integer"),
             "decimal": QCoreApplication.translate("types", "decimal"),
             "date": QCoreApplication.translate("types", "date"), "time": QCoreApplication.translate("types", "time"),
             "datetime": QCoreApplication.translate("types", "date and time"),
             "enum": QCoreApplication.translate("types", "choice (enum)"),
             "code": QCoreApplication.translate("types", "code (ID, number as text)")}
    return names.get(value_type, value_type)


def _num(text: str) -> float | int | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def _clean(data: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Split editor values into keys to set and keys to remove (empty = not set)."""
    keep = {k: v for k, v in data.items() if v not in (None, "", [])}
    return keep, tuple(k for k, v in data.items() if v in (None, "", []))


def auto_columns(image: np.ndarray, box: list[int], header: int = 0, min_gap: int = 12) -> list[dict[str, Any]]:
    """Split a table box into columns: between its vertical grid lines when it has them,
    else at the middle of each blank gap between columns of text."""
    x, y, w, h = box
    crop = image[y + header:y + h, x:x + w]
    if crop.size == 0:
        return []
    mask = ink_mask(crop)
    mask[mask.mean(axis=1) > 0.6, :] = 0  # horizontal grid lines
    line_cols = np.flatnonzero(mask.mean(axis=0) > 0.6)
    mask[:, line_cols] = 0
    ink = mask.max(axis=0) > 0
    bounds: list[int] = [0]
    if len(line_cols):
        for c in line_cols:
            if c - bounds[-1] > 2:
                bounds.append(int(c))
            else:
                bounds[-1] = int(c)
    else:
        run_start, gap = None, 0
        for i, v in enumerate(ink):
            if not v:
                gap += 1
                if run_start is None:
                    run_start = i
            else:
                if run_start is not None and gap >= min_gap and run_start > 0:
                    bounds.append(run_start + gap // 2)
                run_start, gap = None, 0
    bounds.append(w)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        if b - a > 4 and ink[a:b].any():
            out.append({"name": f"col{len(out) + 1}", "x": int(a + 2), "w": int(b - a - 3)})
    return out


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
        lo, hi = _num(self.range_min.text()), _num(self.range_max.text())
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
            "confidence_floor": _num(self.floor.text()),
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
            for c, key in enumerate(COLUMN_KEYS):
                value = col.get(key, "text" if key == "type" else "")
                if key == "range" and value:
                    value = f"{value[0]}..{value[1]}"
                elif key == "choices" and value:
                    value = ", ".join(map(str, value))
                self.columns.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))
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
            try:
                col: dict[str, Any] = {"name": cell[0] or f"col{r + 1}", "x": int(float(cell[1] or 0)),
                                       "w": max(1, int(float(cell[2] or 1)))}
            except ValueError:
                continue
            if cell[3] and cell[3] != "text":
                col["type"] = cell[3]
            if cell[4]:
                col["unit"] = cell[4]
            if cell[5]:
                col["regex"] = cell[5]
            lo, _, hi = cell[6].replace("…", "..").partition("..")
            try:
                if _num(lo) is not None and _num(hi) is not None:
                    col["range"] = [_num(lo), _num(hi)]
            except ValueError:
                pass
            choices = [c.strip() for c in cell[7].replace("，", ",").split(",") if c.strip()]
            if choices:
                col["choices"] = choices
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


class TemplateForm(QWidget):
    """The template's id, version, title, program, screen, modality, confidence floor and match threshold."""

    changed = Signal()

    def __init__(self, doc: TeachDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        form = QFormLayout(self)
        self.edits: dict[str, QLineEdit] = {}
        for key, label in (("id", self.tr("Template id")), ("version", self.tr("Version")), ("title", self.tr("Title")),
                           ("program", self.tr("Program")), ("screen", self.tr("Screen")),
                           ("modality", self.tr("Modality"))):
            edit = QLineEdit()
            edit.editingFinished.connect(self._commit)
            self.edits[key] = edit
            form.addRow(label, edit)
        self.floor = QDoubleSpinBox()
        self.floor.setRange(0, 1)
        self.floor.setSingleStep(0.05)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.05, 1)
        self.threshold.setSingleStep(0.05)
        form.addRow(self.tr("Confidence floor"), self.floor)
        form.addRow(self.tr("Match threshold"), self.threshold)
        self.floor.valueChanged.connect(lambda _: self._commit())
        self.threshold.valueChanged.connect(lambda _: self._commit())
        doc.reset.connect(self.load)
        self.load()

    def load(self) -> None:
        for w in (*self.edits.values(), self.floor, self.threshold):
            w.blockSignals(True)
        for key, edit in self.edits.items():
            edit.setText(str(self.doc.draft.meta.get(key) or ""))
        self.floor.setValue(float(self.doc.draft.extra.get("confidence_floor", 0.8)))
        self.threshold.setValue(float(self.doc.draft.extra.get("match", {}).get("threshold", 0.8)))
        for w in (*self.edits.values(), self.floor, self.threshold):
            w.blockSignals(False)

    def _commit(self) -> None:
        meta = self.doc.draft.meta
        for key, edit in self.edits.items():
            text = edit.text().strip()
            if text:
                meta[key] = text
            else:
                meta.pop(key, None)
        extra = self.doc.draft.extra
        if abs(self.floor.value() - 0.8) > 1e-9:
            extra["confidence_floor"] = round(self.floor.value(), 3)
        else:
            extra.pop("confidence_floor", None)
        match = dict(extra.get("match", {}))
        if abs(self.threshold.value() - 0.8) > 1e-9:
            match["threshold"] = round(self.threshold.value(), 3)
        else:
            match.pop("threshold", None)
        if match:
            extra["match"] = match
        else:
            extra.pop("match", None)
        self.doc.dirty = True
        self.changed.emit()


class ChecksEditor(QWidget):
    """Cross-field checks, chosen not typed: kind, the fields it concerns, the operator.

    A check keeps only the keys of its kind (what a person writes in YAML):
    `sum`: total, of (table.column), tolerance; `not_future`: field; `compare`: left, op, right.
    """

    KEYS = {"sum": ("total", "of", "tolerance"), "not_future": ("field",), "compare": ("left", "op", "right")}

    def __init__(self, doc: TeachDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QTableWidget(0, 2)
        self.list.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Check")])
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.verticalHeader().setVisible(False)
        self.list.horizontalHeader().setStretchLastSection(True)
        self.list.itemSelectionChanged.connect(self._chosen)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add = QPushButton(self.tr("Add check"))
        self.add.setToolTip(self.tr("Add a check across fields (a sum, a date not in the future, a comparison)"))
        self.remove = QPushButton(self.tr("Remove check"))
        self.remove.setToolTip(self.tr("Remove the selected check"))
        row.addWidget(self.add)
        row.addWidget(self.remove)
        row.addStretch(1)
        layout.addLayout(row)
        form = QFormLayout()
        self.name = QLineEdit()
        self.kind = QComboBox()
        for kind, text in (("sum", self.tr("sum: a total equals the sum of a table column")),
                           ("not_future", self.tr("not in the future: a date or time")),
                           ("compare", self.tr("compare: a field with another field or a number"))):
            self.kind.addItem(text, kind)
        self.total = QComboBox()
        self.of = QComboBox()
        self.field = QComboBox()
        self.left = QComboBox()
        self.left.setEditable(True)
        self.op = QComboBox()
        self.op.addItems(OPS)
        self.right = QComboBox()
        self.right.setEditable(True)
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0, 1e9)
        self.tolerance.setDecimals(3)
        self.rows: dict[str, QWidget] = {"total": self.total, "of": self.of, "field": self.field, "left": self.left,
                                         "op": self.op, "right": self.right, "tolerance": self.tolerance}
        labels = {"total": self.tr("Total field"), "of": self.tr("Sum of (table.column)"), "field": self.tr("Date field"),
                  "left": self.tr("Left (field or number)"), "op": self.tr("Operator"),
                  "right": self.tr("Right (field or number)"), "tolerance": self.tr("Tolerance")}
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Kind"), self.kind)
        self.labels: dict[str, QLabel] = {}
        for key, widget in self.rows.items():
            label = QLabel(labels[key])
            self.labels[key] = label
            form.addRow(label, widget)
        layout.addLayout(form)
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        self.name.editingFinished.connect(self._commit)
        self.kind.currentIndexChanged.connect(lambda _: (self._show_rows(), self._commit()))
        for w in (self.total, self.of, self.field, self.op):
            w.currentIndexChanged.connect(lambda _: self._commit())
        for w in (self.left, self.right):
            w.currentTextChanged.connect(lambda _: self._commit())
        self.tolerance.valueChanged.connect(lambda _: self._commit())
        doc.reset.connect(self.load)
        doc.itemRenamed.connect(lambda *_: self.load())
        doc.itemAdded.connect(lambda _: self._fill_choices())
        doc.itemRemoved.connect(lambda _: self.load())
        self.current = -1
        self._loading = False
        self.load()

    # choices ---------------------------------------------------------------------------------
    def _fields(self, types: tuple[str, ...] | None = None) -> list[str]:
        return [f["name"] for f in self.doc.draft.fields if f.get("kind") != "table"
                and (types is None or f.get("type", "text") in types)]

    def _columns(self) -> list[str]:
        return [f"{f['name']}.{c['name']}" for f in self.doc.draft.fields if f.get("kind") == "table"
                for c in f.get("columns", [])]

    def _fill_choices(self) -> None:
        self._loading = True
        numbers, dates = self._fields(("integer", "decimal")), self._fields(("date", "datetime"))
        for combo, items in ((self.total, numbers or self._fields()), (self.of, self._columns()),
                             (self.field, dates or self._fields()), (self.left, self._fields()),
                             (self.right, self._fields())):
            text = combo.currentText()
            combo.clear()
            combo.addItems(items)
            combo.setCurrentText(text) if combo.isEditable() else combo.setCurrentIndex(max(0, combo.findText(text)))
        self._loading = False

    def _show_rows(self) -> None:
        keys = self.KEYS[self.kind.currentData() or "compare"]
        for key in self.rows:
            self.rows[key].setVisible(key in keys)
            self.labels[key].setVisible(key in keys)

    # list --------------------------------------------------------------------------------------
    def describe(self, check: dict[str, Any]) -> str:
        kind = check.get("kind")
        if kind == "sum":
            return f"{check.get('total', '?')} = Σ {check.get('of', '?')}" + (
                f" ± {check['tolerance']}" if check.get("tolerance") else "")
        if kind == "not_future":
            return self.tr("%1 not in the future").replace("%1", str(check.get("field", "?")))
        return f"{check.get('left', '?')} {check.get('op', '?')} {check.get('right', '?')}"

    def load(self) -> None:
        self._loading = True
        self.list.setRowCount(0)
        for check in self.doc.draft.checks:
            r = self.list.rowCount()
            self.list.insertRow(r)
            self.list.setItem(r, 0, QTableWidgetItem(str(check.get("name", ""))))
            self.list.setItem(r, 1, QTableWidgetItem(self.describe(check)))
        self._loading = False
        self._fill_choices()
        self.current = min(self.current, len(self.doc.draft.checks) - 1)
        if self.current >= 0:
            self.list.selectRow(self.current)
        self._show_check()

    def _chosen(self) -> None:
        if self._loading:
            return
        rows = self.list.selectionModel().selectedRows()
        self.current = rows[0].row() if rows else -1
        self._show_check()

    def _show_check(self) -> None:
        check = self.doc.draft.checks[self.current] if 0 <= self.current < len(self.doc.draft.checks) else None
        editors = [self.name, self.kind, *self.rows.values()]
        for w in editors:
            w.setEnabled(check is not None)
        self._loading = True
        if check is not None:
            self.name.setText(str(check.get("name", "")))
            self.kind.setCurrentIndex(max(0, self.kind.findData(check.get("kind", "compare"))))
            for key in ("total", "of", "field"):
                combo: QComboBox = self.rows[key]
                value = str(check.get(key, "") or "")
                if value and combo.findText(value) < 0:
                    combo.addItem(value)
                combo.setCurrentIndex(combo.findText(value) if value else -1)
            self.left.setCurrentText("" if check.get("left") is None else str(check["left"]))
            self.right.setCurrentText("" if check.get("right") is None else str(check["right"]))
            self.op.setCurrentIndex(max(0, self.op.findText(str(check.get("op", "<=")))))
            self.tolerance.setValue(float(check.get("tolerance", 0) or 0))
        self._loading = False
        self._show_rows()

    # editing -------------------------------------------------------------------------------------
    def _commit(self) -> None:
        if self._loading or not (0 <= self.current < len(self.doc.draft.checks)):
            return
        kind = self.kind.currentData()
        check: dict[str, Any] = {"name": self.name.text().strip() or f"check{self.current + 1}", "kind": kind}
        for key in self.KEYS[kind]:
            if key == "tolerance":
                if self.tolerance.value():
                    check["tolerance"] = self.tolerance.value()
                continue
            text = self.rows[key].currentText().strip()
            if not text:
                continue
            check[key] = _num(text) if key in ("left", "right") and _is_number(text) else text
        self.doc.draft.checks[self.current] = check
        self.doc.dirty = True
        item = self.list.item(self.current, 0)
        if item is not None:
            item.setText(check["name"])
            self.list.item(self.current, 1).setText(self.describe(check))

    def _add(self) -> None:
        n = len(self.doc.draft.checks) + 1
        names = self.doc.draft.names() | {c.get("name") for c in self.doc.draft.checks}
        while f"check{n}" in names:
            n += 1
        columns, dates = self._columns(), self._fields(("date", "datetime"))
        if columns:
            numbers = self._fields(("integer", "decimal")) or self._fields()
            check = {"name": f"check{n}", "kind": "sum", "total": numbers[0] if numbers else "", "of": columns[-1]}
        elif dates:
            check = {"name": f"check{n}", "kind": "not_future", "field": dates[0]}
        else:
            fields = self._fields()
            check = {"name": f"check{n}", "kind": "compare", "left": fields[0] if fields else "", "op": "<=",
                     "right": 0}
        self.doc.draft.checks.append({k: v for k, v in check.items() if v != ""})
        self.doc.dirty = True
        self.current = len(self.doc.draft.checks) - 1
        self.load()
        self.name.setFocus()
        self.name.selectAll()

    def _remove(self) -> None:
        if 0 <= self.current < len(self.doc.draft.checks):
            del self.doc.draft.checks[self.current]
            self.doc.dirty = True
            self.current = min(self.current, len(self.doc.draft.checks) - 1)
            self.load()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
