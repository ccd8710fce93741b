"""The frame canvas: zoom, pan, draw anchor and field boxes, move and resize them."""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QKeySequence, QPainter, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene,
                               QGraphicsView, QStyleOptionGraphicsItem, QWidget)

log = logging.getLogger(__name__)

COLORS = {
    "anchor": QColor(40, 120, 255),
    "pending": QColor(150, 150, 150),
    "valid": QColor(20, 170, 60),
    "invalid": QColor(220, 40, 40),
    "step": QColor(255, 140, 0),
}
HANDLE = 6.0  # px on screen within which an edge or corner resizes


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a BGR uint8 image."""
    h, w = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class BoxItem(QGraphicsRectItem):
    """An anchor or a field box. Geometry: pos() is the top-left, rect() is (0, 0, w, h)."""

    def __init__(self, name: str, kind: str, box: list[int], canvas: "Canvas") -> None:
        super().__init__(0, 0, box[2], box[3])
        self.name, self.kind, self.canvas = name, kind, canvas
        self.setPos(box[0], box[1])
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.state = "anchor" if kind == "anchor" else "pending"
        self.caption = ""
        self.table: dict[str, Any] | None = None  # row_height, header, columns for kind == table
        self._drag: tuple[str, QPointF, QRectF, QPointF] | None = None
        self._start_box: list[int] | None = None
        self.setZValue(2)

    # geometry ---------------------------------------------------------------------------
    def box(self) -> list[int]:
        r = self.rect()
        return [int(round(self.pos().x())), int(round(self.pos().y())), max(1, int(round(r.width()))),
                max(1, int(round(r.height())))]

    def set_box(self, box: list[int]) -> None:
        self.prepareGeometryChange()
        self.setPos(box[0], box[1])
        self.setRect(0, 0, box[2], box[3])
        self.update()

    def _edge_at(self, p: QPointF) -> str:
        """Which edges are under local point p ('' = inside, moves)."""
        scale = self.canvas.transform().m11() or 1.0
        r = self.rect()
        tol = min(HANDLE / scale, r.width() / 4, r.height() / 4)
        edges = ""
        if abs(p.x() - r.left()) <= tol:
            edges += "l"
        elif abs(p.x() - r.right()) <= tol:
            edges += "r"
        if abs(p.y() - r.top()) <= tol:
            edges += "t"
        elif abs(p.y() - r.bottom()) <= tol:
            edges += "b"
        return edges

    def hoverMoveEvent(self, event) -> None:  # noqa: N802
        edges = self._edge_at(event.pos())
        shape = {"l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor,
                 "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
                 "lt": Qt.CursorShape.SizeFDiagCursor, "rb": Qt.CursorShape.SizeFDiagCursor,
                 "rt": Qt.CursorShape.SizeBDiagCursor, "lb": Qt.CursorShape.SizeBDiagCursor}.get(
            edges, Qt.CursorShape.SizeAllCursor)
        self.setCursor(shape)
        super().hoverMoveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        self._start_box = self.box()
        edges = self._edge_at(event.pos())
        self._drag = (edges, event.scenePos(), QRectF(self.rect()), QPointF(self.pos()))
        self.canvas.select_name(self.name)
        if edges:
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag and self._drag[0]:
            edges, start, rect, pos = self._drag
            d = event.scenePos() - start
            left, top = pos.x(), pos.y()
            right, bottom = pos.x() + rect.width(), pos.y() + rect.height()
            if "l" in edges:
                left = min(left + d.x(), right - 2)
            if "r" in edges:
                right = max(right + d.x(), left + 2)
            if "t" in edges:
                top = min(top + d.y(), bottom - 2)
            if "b" in edges:
                bottom = max(bottom + d.y(), top + 2)
            self.set_box([round(left), round(top), round(right - left), round(bottom - top)])
            self.canvas.boxMoving.emit(self.name, self.box())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        start, self._drag = self._start_box, None
        if start is not None and start != self.box():
            new = self.box()
            self.set_box(start)  # the undo command applies the new geometry
            self.canvas.boxEdited.emit(self.name, start, new)
        self._start_box = None

    def itemChange(self, change, value):  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and self.canvas is not None:
            p: QPointF = value
            value = QPointF(round(p.x()), round(p.y()))
            if self._drag is not None:
                self.canvas.boxMoving.emit(self.name, [int(value.x()), int(value.y()), *self.box()[2:]])
            return value
        return super().itemChange(change, value)

    # painting ---------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        color = COLORS.get(self.state, COLORS["pending"])
        scale = self.canvas.transform().m11() or 1.0
        pen = QPen(color, (3.0 if self.isSelected() else 1.5) / scale)
        if self.kind == "anchor":
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        fill = QColor(color)
        fill.setAlpha(40 if self.isSelected() else 18)
        painter.setBrush(QBrush(fill))
        r = self.rect()
        painter.drawRect(r)
        if self.kind == "table" and self.table:
            thin = QPen(color, 1.0 / scale, Qt.PenStyle.DotLine)
            painter.setPen(thin)
            header, rh = self.table.get("header", 0), max(1, self.table.get("row_height", 20))
            y = header
            while 0 < y < r.height():
                painter.drawLine(QPointF(0, y), QPointF(r.width(), y))
                y += rh
            for col in self.table.get("columns", []):
                painter.drawLine(QPointF(col["x"], 0), QPointF(col["x"], r.height()))
        text = f"{self.name}  {self.caption}".strip()
        font = QFont()
        font.setPointSizeF(max(6.0, 9.0 / scale))
        painter.setFont(font)
        painter.setPen(QPen(color.darker(130)))
        painter.drawText(QPointF(0, -3.0 / scale), text)

    def boundingRect(self) -> QRectF:  # noqa: N802
        scale = (self.canvas.transform().m11() if self.canvas else 1.0) or 1.0
        return self.rect().adjusted(-4 / scale, -16 / scale, 4 / scale, 4 / scale)


class ProposalItem(QGraphicsRectItem):
    """A proposed field on the frame: click selects it, double-click accepts it, right-click rejects it."""

    def __init__(self, index: int, box: list[int], likely: bool, canvas: "Canvas") -> None:
        super().__init__(0, 0, box[2], box[3])
        self.index, self.canvas, self.likely = index, canvas, likely
        self.setPos(box[0], box[1])
        self.setZValue(1.5)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        pen = QPen(QColor(200, 120, 0) if likely else QColor(150, 150, 150), 1.5)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DotLine)
        self.setPen(pen)
        fill = QColor(255, 170, 0)
        fill.setAlpha(35 if likely else 12)
        self.setBrush(QBrush(fill))
        self.setToolTip(canvas.tr("Proposal: double-click accepts it, right-click rejects it"))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            self.canvas.proposalRejected.emit(self.index)
        else:
            self.canvas.proposalClicked.emit(self.index)
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self.canvas.proposalAccepted.emit(self.index)
        event.accept()


class Canvas(QGraphicsView):
    """Shows the frame; draws, moves and resizes boxes. Emits edits, never applies them itself.

    Tools: "select" (move/resize; drag on the background pans), "anchor", "field", "table"
    (drag draws a new box of that kind), "point" (a click picks a point, for flows).
    """

    boxDrawn = Signal(str, list)          # kind, [x, y, w, h]
    boxEdited = Signal(str, list, list)   # name, old box, new box (mouse released)
    boxMoving = Signal(str, list)         # name, box while dragging
    selectionNameChanged = Signal(str)
    pointPicked = Signal(int, int)
    zoomChanged = Signal(float)
    proposalClicked = Signal(int)
    proposalAccepted = Signal(int)
    proposalRejected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setBackgroundBrush(QColor(60, 60, 60))
        self.setMouseTracking(True)
        self.pixmap_item = QGraphicsPixmapItem()
        self.pixmap_item.setZValue(0)
        self.scene().addItem(self.pixmap_item)
        self.items_by_name: dict[str, BoxItem] = {}
        self.proposal_items: list[ProposalItem] = []
        self.auto_fit = False  # fit the frame whenever the view is resized, until the person zooms
        self.tool = "select"
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_start: QPointF | None = None
        self._pan_start: QPointF | None = None
        self.marker = QGraphicsRectItem()
        self.marker.setPen(QPen(COLORS["step"], 3))
        self.marker.setZValue(5)
        self.marker.setVisible(False)
        self.scene().addItem(self.marker)
        self.scene().selectionChanged.connect(self._selection_changed)
        for keys, slot in ((QKeySequence.StandardKey.ZoomIn, lambda: self.zoom(1.25)),
                           ("Ctrl+=", lambda: self.zoom(1.25)),
                           (QKeySequence.StandardKey.ZoomOut, lambda: self.zoom(0.8)),
                           ("Ctrl+0", self.fit)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    # frame ----------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        if image is None:
            self.pixmap_item.setPixmap(QPixmap())
            return
        first = self.pixmap_item.pixmap().isNull()
        self.pixmap_item.setPixmap(QPixmap.fromImage(bgr_to_qimage(image)))
        self.scene().setSceneRect(QRectF(0, 0, image.shape[1], image.shape[0]))
        if first:
            self.auto_fit = True  # fitted again as the view gets its size (after the window is shown)
            self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.auto_fit:
            self.fit()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.auto_fit:
            self.fit()

    def fit(self) -> None:
        """Show the whole frame (and keep doing so as the view is resized, until the person zooms)."""
        self.auto_fit = True
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.transform().m11())

    def focus_box(self, box: list[int], zoom: float | None = None) -> None:
        """Centre on a box, at `zoom` (view pixels per frame pixel) if given."""
        self.auto_fit = False
        if zoom is not None:
            self.resetTransform()
            self.scale(zoom, zoom)
            self.zoomChanged.emit(zoom)
        self.centerOn(QPointF(box[0] + box[2] / 2, box[1] + box[3] / 2))

    def zoom(self, factor: float) -> None:
        self.auto_fit = False
        current = self.transform().m11()
        factor = max(0.05 / current, min(factor, 32.0 / current))
        self.scale(factor, factor)
        self.zoomChanged.emit(self.transform().m11())

    # items ------------------------------------------------------------------------------
    def add_box(self, name: str, kind: str, box: list[int]) -> BoxItem:
        item = BoxItem(name, kind, box, self)
        self.scene().addItem(item)
        self.items_by_name[name] = item
        return item

    def remove_box(self, name: str) -> None:
        item = self.items_by_name.pop(name, None)
        if item is not None:
            self.scene().removeItem(item)

    def rename_box(self, old: str, new: str) -> None:
        item = self.items_by_name.pop(old, None)
        if item is not None:
            item.name = new
            self.items_by_name[new] = item
            item.update()

    def clear_boxes(self) -> None:
        for name in list(self.items_by_name):
            self.remove_box(name)

    def select_name(self, name: str | None) -> None:
        for n, item in self.items_by_name.items():
            if (n == name) != item.isSelected():
                item.setSelected(n == name)

    def selected_name(self) -> str | None:
        for n, item in self.items_by_name.items():
            if item.isSelected():
                return n
        return None

    def _selection_changed(self) -> None:
        self.selectionNameChanged.emit(self.selected_name() or "")

    def show_marker(self, box: list[int] | None) -> None:
        """Highlight a region (the current flow step's target, a proposal); None or [] hides it."""
        if not box:
            self.marker.setVisible(False)
            return
        self.marker.setRect(QRectF(*box))
        self.marker.setVisible(True)
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if not shown.contains(self.marker.rect()):
            self.centerOn(self.marker)  # only when it is not in view already (the view stays put)

    def set_proposals(self, boxes: list[tuple[list[int], bool]]) -> None:
        """Show proposed fields (box, likely) until they are accepted or rejected."""
        for item in self.proposal_items:
            self.scene().removeItem(item)
        self.proposal_items = []
        for i, (box, likely) in enumerate(boxes):
            item = ProposalItem(i, box, likely, self)
            self.scene().addItem(item)
            self.proposal_items.append(item)

    def show_around(self, box: list[int], context: tuple[int, int] = (720, 420)) -> None:
        """Fit the view to a region of about `context` pixels around a box (the box stays readable)."""
        self.auto_fit = False
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        w, h = max(context[0], box[2] + 40), max(context[1], box[3] + 40)
        self.fitInView(QRectF(cx - w / 2, cy - h / 2, w, h), Qt.AspectRatioMode.KeepAspectRatio)
        self.zoomChanged.emit(self.transform().m11())

    # mouse ------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor if tool == "select" else Qt.CursorShape.CrossCursor)

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if delta:
            self.zoom(1.15 if delta > 0 else 1 / 1.15)
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        scene_pos = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self.tool == "select"
                and not isinstance(self.itemAt(event.position().toPoint()), BoxItem)):
            self._pan_start = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            if self.tool == "select":
                self.scene().clearSelection()
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool == "point":
            self.pointPicked.emit(int(scene_pos.x()), int(scene_pos.y()))
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tool in ("anchor", "field", "table"):
            self._rubber_start = scene_pos
            self._rubber = QGraphicsRectItem(QRectF(scene_pos, scene_pos))
            pen = QPen(COLORS["anchor" if self.tool == "anchor" else "valid"], 0)
            pen.setCosmetic(True)
            pen.setStyle(Qt.PenStyle.DashLine)
            self._rubber.setPen(pen)
            self._rubber.setZValue(10)
            self.scene().addItem(self._rubber)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_start is not None:
            d = event.position() - self._pan_start
            self._pan_start = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            event.accept()
            return
        if self._rubber is not None and self._rubber_start is not None:
            p = self.mapToScene(event.position().toPoint())
            self._rubber.setRect(QRectF(self._rubber_start, p).normalized())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_start is not None:
            self._pan_start = None
            self.set_tool(self.tool)
            event.accept()
            return
        if self._rubber is not None:
            r = self._rubber.rect().normalized()
            self.scene().removeItem(self._rubber)
            self._rubber, self._rubber_start = None, None
            bounds = self.scene().sceneRect()
            r = r.intersected(bounds) if not bounds.isEmpty() else r
            box = [int(round(r.left())), int(round(r.top())), int(round(r.width())), int(round(r.height()))]
            if box[2] >= 3 and box[3] >= 3:
                self.boxDrawn.emit(self.tool, box)
            event.accept()
            return
        super().mouseReleaseEvent(event)
