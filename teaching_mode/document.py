"""The document being taught (a TemplateDraft and its frame) with change signals and undoable box edits."""
from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from qcedge.ocr_templates.results import MatchResult
from qcedge.teaching_mode.draft import TemplateDraft

log = logging.getLogger(__name__)


class TeachDocument(QObject):
    """Holds the draft; every change goes through here so canvas, lists and live OCR follow."""

    itemAdded = Signal(str)       # name
    itemRemoved = Signal(str)     # name
    itemChanged = Signal(str)     # name (box or spec)
    itemRenamed = Signal(str, str)
    boxChanged = Signal(str)      # name (box only)
    reset = Signal()              # a new draft was loaded
    frameChanged = Signal()       # the frame being taught changed
    dirtyChanged = Signal(bool)   # unsaved changes appeared or were saved

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.draft = TemplateDraft()
        self.frame: np.ndarray | None = None      # the frame shown (the reference unless another frame is open)
        self.mapping: MatchResult | None = None   # where the template sits on `frame` (None: it is the reference)
        self.undo = QUndoStack(self)
        self._dirty = False
        self._alias: dict[str, str] = {}  # renamed items: old name -> new name (for undo commands)
        self.undo.cleanChanged.connect(lambda clean: setattr(self, "dirty", not clean))

    @property
    def dirty(self) -> bool:
        """Unsaved changes (box edits through the undo stack, or editor changes)."""
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        if bool(value) != self._dirty:
            self._dirty = bool(value)
            self.dirtyChanged.emit(self._dirty)

    def resolve(self, name: str) -> str:
        """The current name of an item that may have been renamed since a command was made."""
        seen = set()
        while name in self._alias and name not in seen and self.draft.find(name) is None:
            seen.add(name)
            name = self._alias[name]
        return name

    # whole document ------------------------------------------------------------------------
    def load(self, draft: TemplateDraft) -> None:
        self.draft = draft
        self.frame, self.mapping = None, None
        self._alias.clear()
        self.undo.clear()
        self.reset.emit()
        self.frameChanged.emit()

    def set_frame(self, image: np.ndarray, mapping: MatchResult | None = None) -> None:
        """Show a frame. Without a mapping it becomes the reference image; with one (the template
        matched on it), the boxes are shown and edited where the template sits on that frame."""
        if mapping is None:
            self.draft.image = image
            self.frame = None
        else:
            self.frame = image
        self.mapping = mapping
        self.frameChanged.emit()

    def use_as_reference(self) -> None:
        """Make the frame shown the reference: the boxes move to where they are on it."""
        if self.frame is None or self.mapping is None:
            return
        from qcedge.teaching_mode.mapping import item_to_frame

        self.draft.anchors = [item_to_frame(a, self.mapping) for a in self.draft.anchors]
        self.draft.fields = [item_to_frame(f, self.mapping) for f in self.draft.fields]
        self.draft.image, self.frame, self.mapping = self.frame, None, None
        self.dirty = True
        self.reset.emit()
        self.frameChanged.emit()

    @property
    def image(self) -> np.ndarray | None:
        """The frame shown (frame coordinates: map boxes with `mapping`)."""
        return self.frame if self.frame is not None else self.draft.image

    # items ---------------------------------------------------------------------------------
    def kind_of(self, name: str) -> str | None:
        found = self.draft.find(name)
        if found is None:
            return None
        return "anchor" if found[0] == "anchor" else found[1].get("kind", "value")

    def data_of(self, name: str) -> dict[str, Any] | None:
        found = self.draft.find(name)
        return found[1] if found else None

    def insert(self, kind: str, data: dict[str, Any], index: int | None = None) -> None:
        target = self.draft.anchors if kind == "anchor" else self.draft.fields
        target.insert(len(target) if index is None else index, copy.deepcopy(data))
        self.itemAdded.emit(data["name"])

    def take(self, name: str) -> tuple[str, dict[str, Any], int]:
        for kind, target in (("anchor", self.draft.anchors), ("field", self.draft.fields)):
            for i, d in enumerate(target):
                if d["name"] == name:
                    del target[i]
                    self.draft.identity = [n for n in self.draft.identity if n != name]
                    self.itemRemoved.emit(name)
                    return kind, d, i
        raise KeyError(name)

    def set_box(self, name: str, box: list[int]) -> None:
        data = self.data_of(name)
        if data is None:
            return
        data["box"] = [int(v) for v in box]
        self.boxChanged.emit(name)
        self.itemChanged.emit(name)

    def update_item(self, name: str, changes: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
        """Change a field's or anchor's keys (not undoable: the editor owns these)."""
        data = self.data_of(name)
        if data is None:
            return
        new_name = changes.pop("name", name)
        data.update(changes)
        for key in remove:
            data.pop(key, None)
        if new_name != name:
            self.draft.rename(name, new_name)
            self._alias[name] = new_name
            self._alias.pop(new_name, None)
            self.itemRenamed.emit(name, new_name)
            name = new_name
        self.dirty = True
        self.itemChanged.emit(name)

    # undoable box edits ---------------------------------------------------------------------
    def add_item(self, kind: str, data: dict[str, Any], text: str = "Add box") -> None:
        self.undo.push(AddItemCommand(self, kind, data, text))

    def add_items(self, items: list[tuple[str, dict[str, Any]]], text: str = "Add fields") -> None:
        self.undo.beginMacro(text)
        for kind, data in items:
            self.undo.push(AddItemCommand(self, kind, data, text))
        self.undo.endMacro()

    def remove_item(self, name: str, text: str = "Delete box") -> None:
        self.undo.push(RemoveItemCommand(self, name, text))

    def move_item(self, name: str, old: list[int], new: list[int], text: str = "Move box") -> None:
        self.undo.push(SetBoxCommand(self, name, old, new, text))


class AddItemCommand(QUndoCommand):
    def __init__(self, doc: TeachDocument, kind: str, data: dict[str, Any], text: str,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(text, parent)
        self.doc, self.kind, self.data = doc, ("anchor" if kind == "anchor" else "field"), copy.deepcopy(data)

    def redo(self) -> None:
        self.doc.insert(self.kind, self.data)

    def undo(self) -> None:
        _, self.data, _ = self.doc.take(self.doc.resolve(self.data["name"]))
        self.data = copy.deepcopy(self.data)


class RemoveItemCommand(QUndoCommand):
    def __init__(self, doc: TeachDocument, name: str, text: str) -> None:
        super().__init__(text)
        self.doc, self.name = doc, name
        self.kind: str = "field"
        self.data: dict[str, Any] = {}
        self.index = 0
        self.in_identity = name in doc.draft.identity

    def redo(self) -> None:
        self.name = self.doc.resolve(self.name)
        self.kind, data, self.index = self.doc.take(self.name)
        self.data = copy.deepcopy(data)

    def undo(self) -> None:
        self.doc.insert(self.kind, self.data, self.index)
        if self.in_identity and self.name not in self.doc.draft.identity:
            self.doc.draft.identity.append(self.name)


class SetBoxCommand(QUndoCommand):
    def __init__(self, doc: TeachDocument, name: str, old: list[int], new: list[int], text: str) -> None:
        super().__init__(text)
        self.doc, self.name, self.old, self.new = doc, name, list(old), list(new)

    def redo(self) -> None:
        self.doc.set_box(self.doc.resolve(self.name), self.new)

    def undo(self) -> None:
        self.doc.set_box(self.doc.resolve(self.name), self.old)
