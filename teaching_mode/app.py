"""Start the teaching window: `qcedge teach [FILE_OR_SOURCE]`."""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def ensure_platform() -> None:
    """Pick a Qt platform explicitly: Qt aborts the process when it cannot load one."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else (
        "wayland" if os.environ.get("WAYLAND_DISPLAY") else "offscreen")


def process_events_until(predicate: Callable[[], bool], timeout: float) -> bool:
    """Handle Qt events until `predicate()` holds or `timeout` seconds passed; True when it held.

    For scripts that drive the window without running its event loop (the GUI tests' drivers, the screenshots).
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    return False


def make_app(argv: list[str] | None = None, language: str | None = None):
    """The QApplication (created once) with the translator installed."""
    ensure_platform()
    from PySide6.QtWidgets import QApplication

    from qcedge.teaching_mode import i18n

    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName("qcedge")
        QApplication.setApplicationName("qcedge-teach")
        app = QApplication(argv or [sys.argv[0]])
    lang = i18n.pick_language(language)
    i18n.install(app, lang)
    return app


def run(spec: str | None = None, template: str | None = None, language: str | None = None, engine: str = "ppocr",
        screenshot: str | Path | None = None, live_ocr: bool = True) -> int:
    """Open the window (optionally with a source and a template) and run the event loop."""
    app = make_app(language=language)
    from qcedge.teaching_mode.main_window import MainWindow
    from qcedge.teaching_mode.privacy import clean_stale

    clean_stale()  # frames left in the temp folder by a window that crashed

    window = MainWindow(engine=engine, live_ocr=live_ocr)
    if template:
        window.files.open_template(template)
    if spec:
        window.open_path(spec)
    window.show()
    if screenshot:
        from PySide6.QtCore import QTimer

        def shoot() -> None:
            if window.live.pending():
                QTimer.singleShot(200, shoot)
                return
            window.grab().save(str(screenshot))
            window.doc.dirty = False
            window.close()

        QTimer.singleShot(500, shoot)
    return int(app.exec())
