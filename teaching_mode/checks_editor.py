"""Cross-field checks in the editor dock: a sum, a date not in the future, a comparison."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from qcedge.teaching_mode.document import TeachDocument
from qcedge.teaching_mode.table_cells import row_table
from qcedge.teaching_mode.value_types import is_number, parse_number

CHECK_KINDS = ["sum", "not_future", "compare"]
OPS = ["<", "<=", "==", ">=", ">", "!="]


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
        self.list = row_table([self.tr("Name"), self.tr("Check")], self._chosen, fit=False)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.horizontalHeader().setStretchLastSection(True)
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
            check[key] = parse_number(text) if key in ("left", "right") and is_number(text) else text
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
