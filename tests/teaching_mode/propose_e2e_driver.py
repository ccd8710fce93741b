"""A new integrator's path on a screen it has never seen, with real X input only (xdotool):
open the frame -> draw two anchors -> propose -> accept the likely fields -> test on other frames
(file dialog) -> save (Ctrl+S right after the dialog, no click in between).

Run by test_teach_e2e.py in a subprocess with QT_QPA_PLATFORM=xcb and DISPLAY set:

    python tests/teaching_mode/propose_e2e_driver.py FRAME.png GUIDE.yaml WINDOW_X WINDOW_Y OUT.yaml TEST_FRAME...

GUIDE.yaml only tells where the person looks for the anchors (the title bar, the toolbar);
every field comes from the proposals as they are. Prints one JSON line: the X actions used,
the test table, the saved path.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QWidget  # noqa: E402

from qcedge.ocr_templates import load_template  # noqa: E402
from qcedge.teaching_mode.app import make_app  # noqa: E402
from qcedge.teaching_mode.main_window import MainWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import driver_events  # noqa: E402
from driver_events import pump, until  # noqa: E402

app = make_app(language="en")
WIN: MainWindow
ACTIONS = 0   # what the person did: key presses, clicks, drags, typed texts


def xdo(*args: str, action: bool = True) -> None:
    global ACTIONS
    ACTIONS += int(action)
    driver_events.xdo(*args, settle=0.03)


def global_of(widget: QWidget, point: QPoint | None = None) -> tuple[int, int]:
    p = widget.mapToGlobal(point if point is not None else widget.rect().center())
    return p.x(), p.y()


def click(widget: QWidget) -> None:
    x, y = global_of(widget)
    xdo("mousemove", str(x), str(y), action=False)
    xdo("click", "1")


def drag_box(box: list[int], pad: tuple[int, int] = (6, 5)) -> None:
    canvas = WIN.canvas
    x, y, w, h = box
    p0 = global_of(canvas.viewport(), canvas.mapFromScene(x - pad[0], y - pad[1]))
    p1 = global_of(canvas.viewport(), canvas.mapFromScene(x + w + pad[0], y + h + pad[1]))
    xdo("mousemove", str(p0[0]), str(p0[1]), action=False)
    xdo("mousedown", "1")
    for i in range(1, 5):
        xdo("mousemove", str(p0[0] + (p1[0] - p0[0]) * i // 4), str(p0[1] + (p1[1] - p0[1]) * i // 4), action=False)
    xdo("mouseup", "1", action=False)


def dialog() -> QFileDialog | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog) and w.isVisible()), None)


def type_in_dialog(text: str) -> None:
    """Type into the open file dialog's file name box and press Enter."""
    d = dialog()
    edit = d.findChild(QLineEdit, "fileNameEdit") or d.findChild(QLineEdit)
    until(lambda: QApplication.focusWidget() is edit, 5, "the file name box to have focus")
    xdo("key", "ctrl+a", action=False)
    xdo("type", "--delay", "3", "--", text)
    xdo("key", "Return", action=False)


def in_dialog(keys: str, steps, what: str) -> None:
    """Press `keys`, which opens a modal dialog, and do `steps()` inside it.

    A modal dialog runs its own event loop inside the key press: the steps run from a timer of
    that loop (still real X input), and the key press returns once the dialog has closed.
    """
    done: list[bool] = []

    def run() -> None:
        until(lambda: dialog() is not None, 10, what)
        pump(0.2)
        steps()
        done.append(True)

    QTimer.singleShot(200, run)
    xdo("key", keys)
    until(lambda: bool(done) and dialog() is None, 30, f"{what} to close")


def main() -> int:
    global WIN
    frame, guide_path, wx, wy, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    tests = sys.argv[6:]
    guide = load_template(guide_path)
    WIN = MainWindow(quiet_errors=True)
    driver_events.status = lambda: WIN.statusBar().currentMessage()
    WIN.open_path(frame)  # `qcedge teach FRAME`: opened before the window is shown
    WIN.move(0, 0)
    WIN.resize(1800, 1000)
    WIN.show()
    until(lambda: WIN.windowHandle() is not None and WIN.windowHandle().isExposed(), 10, "the window")
    pump(0.5)
    zoom = WIN.canvas.transform().m11()
    if zoom < 0.2:
        raise SystemExit(f"the frame is shown at {zoom:.0%}: not fitted to the window")
    # focus: a click on the canvas background, then two anchors with the A tool
    vp = WIN.canvas.viewport()
    x, y = global_of(vp, QPoint(6, 6))
    xdo("mousemove", str(x), str(y), action=False)
    xdo("click", "1")
    for anchor in guide.anchors[:2]:
        bx, by, bw, bh = anchor.box.as_tuple()
        xdo("key", "a")
        before = set(WIN.doc.draft.names())
        drag_box([bx + wx, by + wy, bw, bh], pad=(2, 2))
        until(lambda: len(set(WIN.doc.draft.names()) - before) == 1, 5, "the anchor to appear")
        xdo("key", "Escape")
    # propose (Ctrl+P), accept the likely ones with one click
    xdo("key", "ctrl+p")
    until(lambda: bool(WIN.proposals.proposals), 60, "proposals")
    pump(0.2)
    likely = [p.name for p in WIN.proposals.proposals if p.likely]
    click(WIN.proposals.accept_all)
    until(lambda: all(n in WIN.doc.draft.names() for n in likely), 5, "the likely proposals to be fields")
    # test on other frames (Ctrl+T: a file dialog; the folder, then the files)
    def choose_files() -> None:
        type_in_dialog(str(Path(tests[0]).parent))
        pump(0.3)
        type_in_dialog(" ".join(f'"{Path(t).name}"' for t in tests))

    in_dialog("ctrl+t", choose_files, "the test file dialog")
    until(lambda: WIN.tester.job is None and WIN.test_panel.table.rowCount() == len(tests), 180, "the test")
    table = WIN.test_panel.table
    rows = [[table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())]
            for r in range(table.rowCount())]
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    # save: Ctrl+S right away (keyboard focus came back from the dialog), a save dialog, the path, Enter
    in_dialog("ctrl+s", lambda: type_in_dialog(str(out)),
              "the save dialog after Ctrl+S (keyboard focus after the test dialog)")
    until(lambda: out.is_file(), 10, "the template file")
    until(lambda: not WIN.isWindowModified(), 5, "the unsaved marker to go")
    print(json.dumps({"actions": ACTIONS, "fields": [f["name"] for f in WIN.doc.draft.fields], "likely": likely,
                      "header": header, "rows": rows, "saved": str(out)}, ensure_ascii=False))
    WIN.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
