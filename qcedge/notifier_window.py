"""The on-screen QC notifier: a small always-on-top window that never takes the keyboard focus.

Run as its own process (`python -m qcedge.notifier_window`), started by the daemon
(qcedge.notify.WindowNotifier), so a Qt failure never takes the daemon down and the
daemon keeps no Qt event loop. It talks JSON lines:

- stdin, one feedback a line: {"record_id", "level", "message", "template", "rule"};
  end of input closes the window and ends the process.
- stdout: {"event": "shown", "record_id", "pending", "title", "button": [x, y, w, h]} when a
  feedback is on screen (the Acknowledge button's place on the screen), and
  {"event": "ack", "record_id", "rule", "level", "at"} when the technologist acknowledges.

The window is a frameless tool window, on top, shown without activation and not
accepting focus (WM_HINTS input = false): what the technologist types keeps going to
the console program. Feedbacks queue; Acknowledge answers the one shown and shows the next.
"""
from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any

COLOURS = {"ok": "#2e7d32", "info": "#1565c0", "warn": "#ef8f00", "warning": "#ef8f00",
           "alert": "#c62828", "error": "#c62828", "critical": "#c62828"}
MAX_QUEUE = 200  # feedbacks waiting behind the shown one; the oldest go first beyond this


def _clean(item: Any) -> dict[str, str] | None:
    """A feedback line as shown (short text fields), or None if it is not one."""
    if not isinstance(item, dict) or not isinstance(item.get("record_id"), str) or not item["record_id"]:
        return None
    out = {}
    for key, limit in (("record_id", 256), ("level", 16), ("message", 400), ("template", 120), ("rule", 120)):
        value = item.get(key)
        # a lone surrogate (a JSON escape) cannot be drawn: replaced
        out[key] = value[:limit].encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else ""
    out["level"] = out["level"].lower() or "info"
    return out


def main() -> int:  # pragma: no cover - exercised through the subprocess in tests/daemon/test_notifier.py
    from PySide6.QtCore import QObject, Qt, Signal
    from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

    sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # the daemon writes UTF-8 whatever the locale
    sys.stdout.reconfigure(encoding="utf-8")
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    class Bridge(QObject):
        line = Signal(object)
        eof = Signal()

    class Window(QWidget):
        def __init__(self) -> None:
            super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint
                             | Qt.WindowType.WindowDoesNotAcceptFocus | Qt.WindowType.FramelessWindowHint)
            self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
            self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.setWindowTitle("qcedge QC")
            self.setFixedWidth(380)
            self.bar = QLabel()
            self.bar.setFixedWidth(10)
            self.title = QLabel()
            self.title.setStyleSheet("font-weight: bold")
            self.message = QLabel()
            self.message.setWordWrap(True)
            self.more = QLabel()
            self.button = QPushButton("Acknowledge")
            self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.button.clicked.connect(self.acknowledge)
            text = QVBoxLayout()
            text.addWidget(self.title)
            text.addWidget(self.message)
            row = QHBoxLayout()
            row.addWidget(self.more)
            row.addStretch(1)
            row.addWidget(self.button)
            text.addLayout(row)
            outer = QHBoxLayout(self)
            outer.setContentsMargins(0, 0, 8, 8)
            outer.addWidget(self.bar)
            outer.addLayout(text)
            self.queue: list[dict[str, str]] = []

        def add(self, fb: dict[str, str]) -> None:
            self.queue.append(fb)
            if len(self.queue) > MAX_QUEUE:
                del self.queue[1]  # keep the shown one, drop the oldest waiting
            self.render()

        def render(self) -> None:
            if not self.queue:
                self.hide()
                return
            fb = self.queue[0]
            colour = COLOURS.get(fb["level"], "#555555")
            self.bar.setStyleSheet(f"background: {colour}")
            self.setStyleSheet(f"QWidget#qc {{ border: 2px solid {colour}; }}")
            where = fb["template"] or "unknown screen"
            self.title.setText(f"QC {fb['level'].upper()} — {where}")
            self.message.setText(fb["message"] or "(no message)")
            self.more.setText(f"{len(self.queue) - 1} more" if len(self.queue) > 1 else "")
            self.adjustSize()
            screen = app.primaryScreen().availableGeometry()
            self.move(screen.right() - self.width() - 16, screen.top() + 16)
            if not self.isVisible():
                self.show()
            self.raise_()
            app.processEvents()
            top_left = self.button.mapToGlobal(self.button.rect().topLeft())
            emit({"event": "shown", "record_id": fb["record_id"], "pending": len(self.queue),
                  "title": self.title.text(),
                  "button": [top_left.x(), top_left.y(), self.button.width(), self.button.height()]})

        def acknowledge(self) -> None:
            if not self.queue:
                return
            fb = self.queue.pop(0)
            emit({"event": "ack", "record_id": fb["record_id"], "rule": fb["rule"] or None, "level": fb["level"],
                  "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
            self.render()

    window = Window()
    window.setObjectName("qc")
    bridge = Bridge()

    def on_line(item: object) -> None:
        fb = _clean(item)
        if fb is not None:
            window.add(fb)

    bridge.line.connect(on_line)
    bridge.eof.connect(app.quit)

    def read() -> None:
        for raw in sys.stdin:
            try:
                item = json.loads(raw)
            except ValueError:
                continue  # not a feedback line: ignored (its content is never echoed)
            bridge.line.emit(item)
        bridge.eof.emit()

    threading.Thread(target=read, name="stdin", daemon=True).start()
    emit({"event": "ready"})
    return app.exec()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
