"""The template's own properties in the editor dock: id, version, title, program, screen, modality, floors."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLineEdit, QWidget

from qcedge.teaching_mode.document import TeachDocument


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
