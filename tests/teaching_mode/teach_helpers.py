"""Mouse helpers for driving the canvas in tests."""
from __future__ import annotations


def scene_to_view(canvas, x: float, y: float):
    """The viewport point where scene point (x, y) is shown."""
    from PySide6.QtCore import QPointF

    return canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, canvas, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
    """Press, move and release the left button on the canvas viewport, in scene coordinates."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    vp = canvas.viewport()
    p0, p1 = scene_to_view(canvas, *start), scene_to_view(canvas, *end)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=p0)
    for i in range(1, steps + 1):
        p = QPoint(p0.x() + (p1.x() - p0.x()) * i // steps, p0.y() + (p1.y() - p0.y()) * i // steps)
        ev = QMouseEvent(QMouseEvent.Type.MouseMove, p, vp.mapToGlobal(p), Qt.MouseButton.NoButton,
                         Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=p1)
