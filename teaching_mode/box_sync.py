"""The boxes of the teaching window kept in step with the document: drawn, moved, renamed, removed on
the canvas or in the editor, mapped between the reference and the frame shown, anchors checked."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from qcedge.teaching_mode.mapping import item_to_frame, to_frame, to_reference
from qcedge.teaching_mode.slots import find_slot
from qcedge.teaching_mode.snap import snap_box

ANCHOR_SETTLE_MS = 300  # an edited anchor is checked again this long after the last change


class BoxSync(QObject):
    """Canvas boxes, the items list and the editor follow the document (`window.boxes`).

    The document keeps boxes in reference coordinates; on another frame the canvas shows them where
    the template matched (`to_frame_box`), and what is drawn there goes back (`to_reference_box`).
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.snap_enabled = True
        self.anchor_notes: dict[str, list[str]] = {}
        self._pack_refs: dict[str, np.ndarray] | None = None
        self._anchor_timer = QTimer(self)
        self._anchor_timer.setSingleShot(True)
        self._anchor_timer.setInterval(ANCHOR_SETTLE_MS)
        self._anchor_timer.timeout.connect(self._anchors_edited)

    def connect_to(self, canvas: Any, doc: Any) -> None:
        canvas.boxDrawn.connect(self._box_drawn)
        canvas.boxEdited.connect(self._box_edited)
        canvas.boxMoving.connect(self._box_moving)
        doc.itemAdded.connect(self._item_added)
        doc.itemRemoved.connect(self._item_removed)
        doc.itemRenamed.connect(self._item_renamed)
        doc.itemChanged.connect(self._item_changed)
        doc.boxChanged.connect(self._box_changed)
        doc.reset.connect(self._rebuild)
        doc.frameChanged.connect(self._frame_changed)

    # coordinates ---------------------------------------------------------------------------------
    def to_frame_box(self, box: list[int]) -> list[int]:
        """A reference box where it is on the frame shown."""
        return to_frame(box, self.window.doc.mapping)

    def to_reference_box(self, box: list[int]) -> list[int]:
        """A box on the frame shown in reference coordinates (what the template stores)."""
        return to_reference(box, self.window.doc.mapping)

    # the whole document -----------------------------------------------------------------------------
    def _rebuild(self) -> None:
        w = self.window
        w.canvas.clear_boxes()
        w.items.results.clear()
        w.items.anchors.clear()
        self._pack_refs = None
        for a in w.doc.draft.anchors:
            w.canvas.add_box(a["name"], "anchor", self.to_frame_box(a["box"]))
        for f in w.doc.draft.fields:
            w.canvas.add_box(f["name"], f.get("kind", "value"), self.to_frame_box(f["box"]))
            self._sync_table_overlay(f["name"])
        self._refresh_items()
        w.editor.show_item(None)
        w.update_title()

    def _refresh_items(self) -> None:
        draft = self.window.doc.draft
        rows = [(a["name"], "anchor") for a in draft.anchors]
        rows += [(f["name"], f.get("kind", "value")) for f in draft.fields]
        self.window.items.set_items(rows)

    def _frame_changed(self) -> None:
        w = self.window
        w.canvas.set_image(w.doc.image)
        for name, item in w.canvas.items_by_name.items():
            data = w.doc.data_of(name)
            if data is not None:
                item.set_box(self.to_frame_box(data["box"]))
                self._sync_table_overlay(name)
        if w.doc.mapping is None:
            self.refresh_anchor_notes()
        w.live.warm_up()
        if not w.sources.is_following():
            w.reading.request_all()

    def forget_pack(self) -> None:
        """The template was saved (perhaps into another pack): compare anchors with its pack anew."""
        self._pack_refs = None

    # drawing and editing ----------------------------------------------------------------------------
    def _box_drawn(self, tool: str, box: list[int]) -> None:
        w = self.window
        if w.doc.image is None:
            w.statusBar().showMessage(self.tr("Open a frame first (Ctrl+O)"), 5000)
            return
        if self.snap_enabled and tool == "anchor":
            box = snap_box(w.doc.image, box)
        elif self.snap_enabled and tool == "field":
            # the slot (input widget, cell, free space to the next text): longer values on other frames fit
            box = find_slot(w.doc.image, box)
        box = self.to_reference_box(box)
        if tool == "anchor":
            name = w.doc.draft.unique_name("anchor")
            data: dict[str, Any] = {"name": name, "box": box}
        elif tool == "table":
            name = w.doc.draft.unique_name("table")
            rh = max(8, min(box[3], 24))
            data = {"name": name, "kind": "table", "box": box, "row_height": rh,
                    "columns": [{"name": "col1", "x": 0, "w": box[2]}]}
        else:
            name = w.doc.draft.unique_name("field")
            data = {"name": name, "box": box}
        w.doc.add_item(tool, data, {"anchor": self.tr("Add anchor"), "table": self.tr("Add table")}.get(
            tool, self.tr("Add field")))
        w.select(name)
        w.right_tabs.setCurrentWidget(w.editor)
        w.editor.name_edit.setFocus()
        w.editor.name_edit.selectAll()

    def _box_edited(self, name: str, old: list[int], new: list[int]) -> None:
        text = self.tr("Move box") if old[2:] == new[2:] else self.tr("Resize box")
        self.window.doc.move_item(name, self.to_reference_box(old), self.to_reference_box(new), text)

    def delete_selected(self) -> None:
        name = self.window.canvas.selected_name() or self.window.editor.name
        if name:
            self.window.doc.remove_item(name, self.tr("Delete box"))

    def _box_moving(self, name: str, box: list[int]) -> None:
        """While dragging: read the box where it is now (the document changes on release)."""
        if self.window.doc.kind_of(name) != "anchor":
            self.window.live.request(name)

    # one item -------------------------------------------------------------------------------------------
    def _item_added(self, name: str) -> None:
        w = self.window
        kind = w.doc.kind_of(name) or "value"
        data = w.doc.data_of(name)
        assert data is not None
        w.canvas.add_box(name, kind, self.to_frame_box(data["box"]))
        self._sync_table_overlay(name)
        self._refresh_items()
        if kind != "anchor":
            w.live.request(name)
        else:
            self._anchor_timer.start()

    def _item_removed(self, name: str) -> None:
        w = self.window
        w.canvas.remove_box(name)
        w.live.forget(name)
        w.items.results.pop(name, None)
        self._refresh_items()

    def _item_renamed(self, old: str, new: str) -> None:
        w = self.window
        w.canvas.rename_box(old, new)
        if old in w.items.results:
            w.items.results[new] = w.items.results.pop(old)
        self._refresh_items()
        w.items.select(new)

    def _item_changed(self, name: str) -> None:
        self._sync_table_overlay(name)
        if self.window.doc.kind_of(name) == "anchor":
            self._anchor_timer.start()
        else:
            self.window.live.request(name)

    def _box_changed(self, name: str) -> None:
        item = self.window.canvas.items_by_name.get(name)
        data = self.window.doc.data_of(name)
        if item is not None and data is not None and item.box() != self.to_frame_box(data["box"]):
            item.set_box(self.to_frame_box(data["box"]))

    def _sync_table_overlay(self, name: str) -> None:
        item = self.window.canvas.items_by_name.get(name)
        data = self.window.doc.data_of(name)
        if item is not None and data is not None and data.get("kind") == "table":
            data = item_to_frame(data, self.window.doc.mapping)
            item.table = {"header": data.get("header", 0), "row_height": data.get("row_height", 20),
                          "columns": data.get("columns", [])}
            item.update()

    # anchors ------------------------------------------------------------------------------------------
    def _anchors_edited(self) -> None:
        """An anchor was drawn, moved or resized: warnings again, and its live score on another frame."""
        self.refresh_anchor_notes()
        doc = self.window.doc
        if doc.mapping is not None and doc.frame is not None:
            self.window.sources.show_image(doc.frame)

    def refresh_anchor_notes(self) -> None:
        """Warnings on weak anchors (too small, at the frame's edge, across a window edge, not
        distinctive against the other templates beside this one)."""
        from qcedge.teaching_mode.diagnostics import anchor_warnings, pack_references

        draft = self.window.doc.draft
        if draft.image is None:
            return
        if self._pack_refs is None:
            self._pack_refs = pack_references(draft.path, str(draft.meta.get("id", "")))
        self.anchor_notes = anchor_warnings(draft.anchors, draft.image, self._pack_refs)
        if self.window.doc.mapping is None:
            for a in draft.anchors:
                self.window.items.set_anchor(a["name"], None, self.anchor_notes.get(a["name"], []))
