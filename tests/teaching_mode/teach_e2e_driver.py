"""Teach a template for the CT dose report through the GUI on a real X display, with real X input (xdotool).

Run by test_teach_e2e.py in a subprocess with QT_QPA_PLATFORM=xcb and DISPLAY set:

    python tests/teaching_mode/teach_e2e_driver.py FRAME.png SAMPLE_TEMPLATE.yaml WINDOW_X WINDOW_Y OUT.yaml

The person's eyes are the sample template's boxes (shifted to where the window is in the
frame) drawn a little too large, so snapping to the text has to do its job; everything else
goes through the window: tool shortcuts, mouse drags, typing into the editor, buttons.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from qcedge.ocr_templates import load_template  # noqa: E402
from qcedge.teaching_mode.app import make_app  # noqa: E402
from qcedge.teaching_mode.main_window import MainWindow  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from driver_events import pump, until  # noqa: E402
from driver_events import xdo as _xdo  # noqa: E402

app = make_app(language="en")


WIN: MainWindow


def xdo(*args: str) -> None:
    _xdo(*args, settle=0.03)


def global_of(widget: QWidget, point: QPoint | None = None) -> tuple[int, int]:
    p = widget.mapToGlobal(point if point is not None else widget.rect().center())
    return p.x(), p.y()


def click(widget: QWidget) -> None:
    x, y = global_of(widget)
    xdo("mousemove", str(x), str(y), "click", "1")


def type_into(widget: QWidget, text: str) -> None:
    """Click a line edit or spin box, select all, type, press Enter."""
    click(widget)
    until(widget.hasFocus, 5, "keyboard focus")
    xdo("key", "ctrl+a")
    xdo("type", "--delay", "5", "--", text)
    xdo("key", "Return")


def draw(key: str, box: list[int], pad: tuple[int, int] = (6, 5)) -> str:
    """Press the tool's shortcut and drag a box on the canvas; returns the new item's name."""
    canvas = WIN.canvas
    canvas.focus_box(box, zoom=1.5 if box[2] < 500 else 1.0)
    pump(0.1)
    click_canvas_background()
    xdo("key", key)
    before = set(WIN.doc.draft.names())
    x, y, w, h = box
    p0 = global_of(canvas.viewport(), canvas.mapFromScene(x - pad[0], y - pad[1]))
    p1 = global_of(canvas.viewport(), canvas.mapFromScene(x + w + pad[0], y + h + pad[1]))
    xdo("mousemove", str(p0[0]), str(p0[1]), "mousedown", "1")
    for i in range(1, 5):
        xdo("mousemove", str(p0[0] + (p1[0] - p0[0]) * i // 4), str(p0[1] + (p1[1] - p0[1]) * i // 4))
    xdo("mouseup", "1")
    until(lambda: len(set(WIN.doc.draft.names()) - before) == 1, 5, f"the {key} box to appear")
    return (set(WIN.doc.draft.names()) - before).pop()


def click_canvas_background() -> None:
    """Give the window keyboard focus without hitting a box: a click in the canvas corner."""
    vp = WIN.canvas.viewport()
    WIN.set_tool("select")
    x, y = global_of(vp, QPoint(4, 4))
    xdo("mousemove", str(x), str(y), "click", "1")


def name_it(name: str) -> None:
    ed = WIN.editor
    until(ed.name_edit.hasFocus, 5, "the name field to take focus after drawing")
    xdo("key", "ctrl+a")
    xdo("type", "--delay", "5", "--", name)
    xdo("key", "Return")
    until(lambda: ed.name == name, 5, f"the rename to {name}")


def main() -> int:
    global WIN
    frame, sample, wx, wy, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
    guide = load_template(sample)

    def at(box) -> list[int]:
        x, y, w, h = box.as_tuple()
        return [x + wx, y + wy, w, h]

    WIN = MainWindow(quiet_errors=True)
    WIN.move(0, 0)
    WIN.resize(1800, 1000)
    WIN.show()
    until(lambda: WIN.isVisible() and WIN.windowHandle() is not None and WIN.windowHandle().isExposed(), 10, "the window")
    pump(0.3)
    WIN.open_path(frame)
    until(lambda: WIN.doc.image is not None, 10, "the frame")

    # template properties: typed into the Template tab
    WIN.right_tabs.setCurrentWidget(WIN.template_form)
    pump(0.1)
    type_into(WIN.template_form.edits["id"], "ct_taught")
    type_into(WIN.template_form.edits["title"], "CT dose report (taught)")
    WIN.right_tabs.setCurrentWidget(WIN.editor)

    for anchor in guide.anchors:
        name = draw("a", at(anchor.box))
        name_it(anchor.name)

    ed = WIN.editor
    spec = {
        "patient_id": ("code", r"^\d{10}$"),
        "accession": ("code", r"^CT\d{10}$"),
        "exam_time": ("datetime", ""),
        "total_dlp": ("decimal", ""),
    }
    for key, (vtype, regex) in spec.items():
        draw("f", at(guide.field(key).box))
        name_it(key)
        ed.spec.type.setCurrentIndex(ed.spec.type.findData(vtype))  # a combo box: chosen from the list
        if regex:
            type_into(ed.spec.regex, regex)
        if key in ("accession", "exam_time"):
            click(ed.identity)
        if key == "patient_id":
            click(ed.personal)

    table = guide.field("series")
    draw("t", at(table.box), pad=(0, 0))
    name_it("series")
    type_into(ed.header, str(table.header))
    type_into(ed.row_height, str(table.row_height))
    click(ed.auto_col)
    until(lambda: ed.columns.rowCount() == len(table.columns), 5, "columns from gaps")
    for r, col in enumerate(table.columns):  # name and type the columns found
        ed.columns.item(r, 0).setText(col.name)
        ed.columns.item(r, 3).setText(col.type)
        if col.choices:
            ed.columns.item(r, 7).setText(", ".join(col.choices))
    pump(0.2)

    # every field shows a live result before saving
    names = [f["name"] for f in WIN.doc.draft.fields]
    until(lambda: all(n in WIN.items.results for n in names) and not WIN.live.pending(), 60, "live OCR of every field")
    results = {n: (WIN.items.results[n].text, WIN.items.results[n].valid) for n in names}
    if not WIN.files.save_to(out):
        raise SystemExit("saving the template failed: " + WIN.statusBar().currentMessage())
    if os.environ.get("TEACH_E2E_SCREENSHOT"):
        WIN.grab().save(os.environ["TEACH_E2E_SCREENSHOT"])
    print(json.dumps({"saved": str(out), "live": results}, ensure_ascii=False))
    WIN.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
