"""Make the teaching-mode screenshots in this folder (Qt offscreen, real OCR on the sample screens).

    python docs/screenshots/make_screenshots.py

Writes teach_live_ocr.png, teach_test_table.png, teach_flow_editor.png and teach_zh_CN_propose.png.
Needs the generated samples (python -m samples.generate).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from qcedge.ocr_templates import load_template  # noqa: E402
from qcedge.teaching_mode.app import make_app, process_events_until  # noqa: E402

GEN = ROOT / "samples" / "generated"


def pump(app: QApplication, until=lambda: True, timeout: float = 120.0) -> None:
    """Handle events until `until()` holds (or `timeout` passed), then a few more for the painting."""
    process_events_until(until, timeout)
    for _ in range(20):
        app.processEvents()


def frames(kind: str, variant: str | None = None) -> list[dict]:
    manifest = json.loads((GEN / "manifest.json").read_text(encoding="utf-8"))
    return [f for f in manifest["frames"] if f["kind"] == kind and (variant is None or f["variant"] == variant)]


def teach_ct(win, frame: dict) -> None:
    """The CT dose fields as the integrator taught them (sample template boxes, moved to the window)."""
    tpl = load_template(ROOT / "samples" / "templates" / "ct_dose_report.yaml")
    wx, wy = frame["window"][:2]
    win.sources.open_source(str(GEN / frame["path"]))
    win.doc.draft.meta.update({"id": "ct_dose_taught", "title": "CT dose report (taught)"})
    win.template_form.load()
    for a in tpl.anchors:
        x, y, w, h = a.box.as_tuple()
        win.doc.add_item("anchor", {"name": a.name, "box": [x + wx, y + wy, w, h]})
    for f in tpl.fields:
        data = f.model_dump(mode="json", exclude_defaults=True)
        x, y, w, h = f.box.as_tuple()
        data["box"] = [x + wx, y + wy, w, h]
        win.doc.add_item("field", data)
    win.doc.draft.checks = [c.model_dump(mode="json", exclude_defaults=True) for c in tpl.checks]
    win.doc.draft.identity = list(tpl.identity)
    win.checks.load()


def main() -> int:
    os.chdir(ROOT)  # paths in the window are shown relative to the working folder (no machine paths)
    settings = tempfile.TemporaryDirectory(prefix="teach-shots-conf-")
    os.environ["XDG_CONFIG_HOME"] = settings.name  # recent files etc. not in the user's configuration
    app = make_app(language="en")
    from qcedge.teaching_mode.main_window import MainWindow

    ct = frames("ct_dose", "clean")[0]
    # 1. a taught template with live OCR
    win = MainWindow(quiet_errors=True)
    win.resize(1700, 1000)
    win.show()
    teach_ct(win, ct)
    names = [f["name"] for f in win.doc.draft.fields]
    pump(app, lambda: all(n in win.items.results for n in names) and not win.live.pending())
    win.reading.read_all_now()
    pump(app, lambda: bool(win.items.checks.text()))
    win.canvas.focus_box([ct["window"][0] + 120, ct["window"][1] + 100, 720, 460], zoom=1.0)
    win.select("total_dlp")
    pump(app)
    win.grab().save(str(HERE / "teach_live_ocr.png"))

    # 2. the test table: frames of this screen (clean, moved, scaled, HDMI) and other screens
    tmp = Path(tempfile.mkdtemp(prefix="teach-shots-"))
    chosen = (frames("ct_dose", "clean")[:3] + frames("ct_dose", "moved")[:2] + frames("ct_dose", "hdmi")[:2]
              + frames("ct_dose", "scaled125")[:1] + frames("foreign_ct_same_program")[:1] + frames("dr_exposure", "clean")[:1])
    for i, f in enumerate(chosen):
        shutil.copy(GEN / f["path"], tmp / f"{i:02d}_{Path(f['path']).name}")
    from PySide6.QtCore import Qt

    win.resizeDocks([win.tools_dock], [470], Qt.Orientation.Vertical)
    win.tester.run_test(tmp)
    pump(app, lambda: win.tester.job is None, timeout=600)
    table = win.test_panel.table
    # the frame of another program: the detail names each anchor and why it failed
    bad = next((r for r in range(table.rowCount()) if table.item(r, 2).text() == "no match"), None)
    if bad is not None:
        table.selectRow(bad)  # opens that frame with the template where the matcher put it
    win.canvas.fit()
    pump(app, lambda: not win.live.pending())
    pump(app, lambda: not win.live.pending())
    win.grab().save(str(HERE / "teach_test_table.png"))
    shutil.rmtree(tmp, ignore_errors=True)

    # 3. the flow editor: a flow recorded on the RIS registration screen (events through the recorder's
    #    step builder, as a recording makes them), the current step highlighted on the screen
    from qcedge.teaching_mode.draft import read_image
    from qcedge.teaching_mode.recorder import InputEvent

    ris = frames("ris_registration", "clean")[0]
    screen = read_image(GEN / ris["path"])
    panel = win.flow_panel
    win.bottom_tabs.setCurrentWidget(panel)
    panel.id_edit.setText("ris_register")
    panel.id_edit.editingFinished.emit()
    panel.set_recording(False)
    from qcedge.teaching_mode.recorder import StepBuilder

    builder = StepBuilder(panel.flow_dir, prefix="ris_register")
    builder.steps, builder.boxes = panel.data["steps"], panel.boxes
    wx, wy = ris["window"][:2]
    t = 0.0
    for kind, payload in (("click", (wx + 120, wy + 297)), ("type", "CT2503271346"), ("key", "tab"),
                          ("click", (wx + 880, wy + 307)), ("key", "ctrl+s")):
        t += 1.0
        if kind == "click":
            builder.add(InputEvent("click", t, x=payload[0], y=payload[1], screen=screen))
        elif kind == "type":
            for ch in payload:
                builder.add(InputEvent("key", t, char=ch))
        else:
            *mods, key = payload.split("+")
            builder.add(InputEvent("key", t, key=key, modifiers=frozenset(mods)))
    panel.current = 3
    panel.refresh()
    panel.steps.setCurrentRow(3)
    panel.preview.set_image(screen)
    where = panel._locate(3, screen)
    panel.preview.show_marker(where)
    if where is not None:
        panel.preview.show_around(where)
    panel.status.setText("Step 3 done")
    win.resizeDocks([win.tools_dock], [520], Qt.Orientation.Vertical)
    pump(app)
    win.grab().save(str(HERE / "teach_flow_editor.png"))
    win.doc.dirty = False
    win.shutdown()
    win.close()

    # 4. the Chinese interface proposing fields on the RIS registration form
    from qcedge.teaching_mode import i18n

    i18n.install(app, "zh_CN")
    win = MainWindow(quiet_errors=True)
    win.resize(1700, 1000)
    win.show()
    win.sources.open_source(str(GEN / ris["path"]))
    pump(app)
    win.canvas.show_around(ris["window"], context=(ris["window"][2], ris["window"][3]))
    win.proposer.propose(region=list(ris["window"]))
    pump(app, lambda: bool(win.proposals.proposals), timeout=300)
    # accept a few with their Accept buttons; the others stay on the frame (dotted) and in the list
    for name in ("accession", "patient_id", "patient_name", "age", "registered_at"):
        p = next((p for p in win.proposals.proposals if p.name == name), None)
        if p is not None:
            win.proposals.accept_one(p)
    names = [f["name"] for f in win.doc.draft.fields]
    pump(app, lambda: all(n in win.items.results for n in names) and not win.live.pending())
    win.grab().save(str(HERE / "teach_zh_CN_propose.png"))
    win.doc.dirty = False
    win.shutdown()
    print("wrote", ", ".join(p.name for p in sorted(HERE.glob("teach_*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
