"""The teaching window offscreen: draw, edit, save and reload, undo, live OCR, propose, test, packs, language.

One specification of the window's behaviour (about 600 lines); the end-to-end runs through X input are in
test_teach_e2e.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PySide6.QtCore import Qt

from qcedge.ocr_templates import dump_template, load_template
from qcedge.ocr_templates.model import Template
from qcedge.teaching_mode.draft import TemplateDraft, read_image
from tests.conftest import ROOT
from tests.teaching_mode.teach_helpers import drag

SAMPLE_TEMPLATE = ROOT / "samples" / "templates" / "ct_dose_report.yaml"


def frame_box(frame: dict, name: str) -> list[int]:
    """Where a field of the sample template sits in a (clean) frame: template box + window offset."""
    tpl = load_template(SAMPLE_TEMPLATE)
    x, y, w, h = tpl.field(name).box.as_tuple()
    wx, wy = frame["window"][:2]
    return [x + wx, y + wy, w, h]


def add_sample_anchors(win, frame: dict) -> Template:
    """The sample template's anchors added where they sit in a (clean) frame; returns the sample template."""
    tpl = load_template(SAMPLE_TEMPLATE)
    wx, wy = frame["window"][:2]
    for a in tpl.anchors:
        x, y, w, h = a.box.as_tuple()
        win.doc.add_item("anchor", {"name": a.name, "box": [x + wx, y + wy, w, h]})
    return tpl


def draw_field(qtbot, win, box: list[int], tool: str = "field") -> str:
    """Draw a box with the mouse (a little larger than `box`, as a person would); returns its name."""
    before = set(win.doc.draft.names())
    win.set_tool(tool)
    x, y, w, h = box
    drag(qtbot, win.canvas, (x - 6, y - 5), (x + w + 8, y + h + 5))
    added = set(win.doc.draft.names()) - before
    assert len(added) == 1, "drawing with the mouse did not add exactly one box"
    return added.pop()


def wait_result(qtbot, win, name: str, predicate=lambda r: True, timeout: int = 15000):
    qtbot.waitUntil(lambda: name in win.items.results and predicate(win.items.results[name]), timeout=timeout)
    return win.items.results[name]


def test_draw_box_snaps_to_text_and_undo_redo(qtbot, window, ct_clean):
    win = window
    win.live.enabled = False
    win.sources.open_source(str(ct_clean["abspath"]))
    target = frame_box(ct_clean, "total_dlp")
    win.canvas.focus_box(target, zoom=2.0)  # zoom in on small text, as a person would
    name = draw_field(qtbot, win, target)
    box = win.doc.data_of(name)["box"]
    # drawn 14 px wider and 10 px taller than the input widget; snapping tightens it to the
    # widget's inside (not to these digits: a longer value on another frame needs the room)
    assert target[0] <= box[0] <= target[0] + 2 and target[1] <= box[1] <= target[1] + 2
    assert target[2] - 4 <= box[2] <= target[2] and target[3] - 4 <= box[3] <= target[3]
    assert win.canvas.items_by_name[name].box() == box

    # move the box by dragging it, then undo and redo the move
    item = win.canvas.items_by_name[name]
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    win.set_tool("select")
    drag(qtbot, win.canvas, (cx, cy), (cx + 40, cy + 20))
    moved = win.doc.data_of(name)["box"]
    assert moved[0] == pytest.approx(box[0] + 40, abs=2) and moved[1] == pytest.approx(box[1] + 20, abs=2)
    assert moved[2:] == box[2:]
    win.act_undo.trigger()
    assert win.doc.data_of(name)["box"] == box and item.box() == box
    win.act_redo.trigger()
    assert win.doc.data_of(name)["box"] == moved and item.box() == moved
    # resize by dragging the right edge
    win.act_undo.trigger()
    drag(qtbot, win.canvas, (box[0] + box[2], cy), (box[0] + box[2] + 30, cy))
    assert win.doc.data_of(name)["box"][2] == pytest.approx(box[2] + 30, abs=2)
    win.act_undo.trigger()
    assert win.doc.data_of(name)["box"] == box
    # undo the drawing itself: the box disappears from the document and the canvas
    win.act_undo.trigger()
    assert win.doc.data_of(name) is None and name not in win.canvas.items_by_name
    win.act_redo.trigger()
    assert win.doc.data_of(name)["box"] == box and name in win.canvas.items_by_name


def test_edit_field_save_reload_compare(qtbot, window, ct_clean, tmp_path):
    win = window
    win.live.enabled = False
    win.sources.open_source(str(ct_clean["abspath"]))
    draw_field(qtbot, win, frame_box(ct_clean, "accession"), tool="anchor")  # an anchor
    name = draw_field(qtbot, win, frame_box(ct_clean, "patient_id"))
    ed = win.editor
    assert ed.name == name
    # type into the editor as a person would
    ed.name_edit.clear()
    qtbot.keyClicks(ed.name_edit, "patient_id")
    qtbot.keyClick(ed.name_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(ed.label_edit, "Patient ID")
    qtbot.keyClick(ed.label_edit, Qt.Key.Key_Return)
    ed.spec.type.setCurrentIndex(ed.spec.type.findData("code"))
    qtbot.keyClicks(ed.spec.regex, r"^\d{10}$")
    qtbot.keyClick(ed.spec.regex, Qt.Key.Key_Return)
    qtbot.keyClicks(ed.spec.allowed, "0123456789")
    qtbot.keyClick(ed.spec.allowed, Qt.Key.Key_Return)
    qtbot.mouseClick(ed.personal, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(ed.identity, Qt.MouseButton.LeftButton)
    total = draw_field(qtbot, win, frame_box(ct_clean, "total_dlp"))
    ed.name_edit.setText("total_dlp")
    ed.name_edit.editingFinished.emit()
    ed.spec.type.setCurrentIndex(ed.spec.type.findData("decimal"))
    ed.spec.unit.setText("mGy·cm")
    ed.spec.unit.editingFinished.emit()
    ed.spec.range_min.setText("0.1")
    ed.spec.range_max.setText("20000")
    ed.spec.range_max.editingFinished.emit()
    ed.spec.required.setChecked(False)
    # a cross-field check, chosen in the Checks editor: a sum check first, changed to a comparison
    ch = win.checks
    qtbot.mouseClick(ch.add, Qt.MouseButton.LeftButton)
    assert ch.kind.currentData() == "compare" and ch.left.findText("total_dlp") >= 0
    ch.kind.setCurrentIndex(ch.kind.findData("not_future"))
    assert not ch.op.isVisibleTo(ch) and ch.field.isVisibleTo(ch)
    ch.kind.setCurrentIndex(ch.kind.findData("compare"))
    ch.name.setText("dlp_positive")
    ch.name.editingFinished.emit()
    ch.left.setCurrentText("total_dlp")
    ch.op.setCurrentText(">")
    ch.right.setCurrentText("0")
    assert ch.list.item(0, 1).text() == "total_dlp > 0"
    win.template_form.edits["id"].setText("ct_taught")
    win.template_form.edits["id"].editingFinished.emit()
    assert total not in win.doc.draft.names() and "total_dlp" in win.doc.draft.names()

    path = tmp_path / "ct_taught.yaml"
    assert win.files.save_to(path)
    assert (tmp_path / "ct_taught.png").is_file()
    saved = load_template(path)
    assert isinstance(saved, Template) and saved.id == "ct_taught"
    pid = saved.field("patient_id")
    assert (pid.type, pid.regex, pid.allowed, pid.personal, pid.label) == ("code", r"^\d{10}$", "0123456789", True, "Patient ID")
    tdlp = saved.field("total_dlp")
    assert (tdlp.type, tdlp.unit, tdlp.range, tdlp.required) == ("decimal", "mGy·cm", (0.1, 20000.0), False)
    assert saved.identity == ["patient_id"] and len(saved.anchors) == 1
    check = saved.checks[0]
    assert (check.name, check.kind, check.left, check.op, check.right) == ("dlp_positive", "compare", "total_dlp", ">", 0)
    # the file is exactly what the loader would write for a hand-written template with the same content
    assert path.read_text(encoding="utf-8") == dump_template(saved)
    # the check is written as a person would: only the keys of its kind
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["checks"] == [
        {"name": "dlp_positive", "kind": "compare", "left": "total_dlp", "op": ">", "right": 0}]
    # the editor's header follows a rename; the read line belongs to the item shown
    win.select("patient_id")
    win.editor.result.setText("Read: «0000856885»")
    win.select("total_dlp")
    assert "0000856885" not in win.editor.result.text()
    win.editor.name_edit.setText("dlp_total")
    win.editor.name_edit.editingFinished.emit()
    assert win.editor.title.text().endswith(": dlp_total")
    win.editor.name_edit.setText("total_dlp")
    win.editor.name_edit.editingFinished.emit()
    # reload into the window: same boxes, same spec
    before = win.doc.draft.to_data("ct_taught.png")
    win.files.open_template(path)
    assert win.doc.draft.to_data("ct_taught.png") == before
    assert set(win.canvas.items_by_name) == {a.name for a in saved.anchors} | {"patient_id", "total_dlp"}
    assert win.canvas.items_by_name["patient_id"].box() == list(pid.box.as_tuple())


def test_live_ocr_follows_the_box(qtbot, window, ct_clean, manifest):
    win = window
    truth = ct_clean["fields"]
    win.sources.open_source(str(ct_clean["abspath"]))
    name = draw_field(qtbot, win, frame_box(ct_clean, "total_dlp"))
    res = wait_result(qtbot, win, name, lambda r: r.text != "")
    assert res.text == truth["total_dlp"] and res.confidence > 0.8
    win.editor.spec.type.setCurrentIndex(win.editor.spec.type.findData("decimal"))  # typed value follows the edited type
    res = wait_result(qtbot, win, name, lambda r: isinstance(r.value, float))
    assert res.valid and res.value == pytest.approx(float(truth["total_dlp"]))
    # move the box onto the patient ID (through the editor's box fields): the result follows
    target = frame_box(ct_clean, "patient_id")
    win.editor.spec.type.setCurrentIndex(win.editor.spec.type.findData("code"))
    for spin, v in zip(win.editor.box_spins, target):
        spin.setValue(v)
    res = wait_result(qtbot, win, name, lambda r: r.text == truth["patient_id"])
    assert res.valid and win.canvas.items_by_name[name].state == "valid"
    row = win.items.rows[name]
    assert win.items.table.item(row, 5).text() == truth["patient_id"]  # the Text column
    # an impossible range makes it invalid, with the reason shown
    win.editor.spec.type.setCurrentIndex(win.editor.spec.type.findData("integer"))
    win.editor.spec.range_min.setText("1")
    win.editor.spec.range_max.setText("10")
    win.editor.spec.range_max.editingFinished.emit()
    res = wait_result(qtbot, win, name, lambda r: not r.valid)
    assert res.reasons and win.canvas.items_by_name[name].state == "invalid"


def test_stale_result_never_overwrites_newer(qtbot, window):
    from qcedge.ocr_templates.results import FieldResult

    live = window.live
    live.enabled = True
    got = []
    live.resultReady.connect(lambda n, r, s: got.append(r.text))
    live._seq["f"] = 5
    live._apply("f", 4, FieldResult("f", "old", None, 0.9, True), 0.0)  # stale: seq 4 < 5
    live._apply("f", 5, FieldResult("f", "new", None, 0.9, True), 0.0)
    assert got == ["new"]


def test_propose_offers_label_value_pairs(qtbot, window, ct_clean):
    win = window
    win.live.enabled = False
    win.sources.open_source(str(ct_clean["abspath"]))
    win.canvas.focus_box(ct_clean["window"], zoom=1.0)  # zoomed in: propose would look at the visible part only
    region = win.proposer.visible_region()
    assert region is not None and region[2] < 1920
    win.proposer.propose(region=list(ct_clean["window"]))  # the program's window
    qtbot.waitUntil(lambda: bool(win.proposals.proposals), timeout=30000)
    by_text = {p.text.replace(" ", ""): p for p in win.proposals.proposals}
    truth = {k: v.replace(" ", "") for k, v in ct_clean["fields"].items()}
    assert by_text[truth["patient_id"]].spec["type"] == "code" and by_text[truth["patient_id"]].personal
    assert by_text[truth["accession"]].spec["type"] == "code"
    assert by_text[truth["exam_time"]].spec["type"] == "datetime"
    assert by_text[truth["total_dlp"]].spec["type"] == "decimal"
    assert by_text[truth["total_dlp"]].label == "Total DLP"
    # value boxes sit on the values of the sample template
    for key in ("patient_id", "total_dlp"):
        px, py, pw, ph = by_text[truth[key]].box
        tx, ty, tw, th = frame_box(ct_clean, key)
        assert tx - 4 <= px and px + pw <= tx + tw + 4 and ty - 4 <= py and py + ph <= ty + th + 4
    # one click accepts a proposal as a field
    row = win.proposals.proposals.index(by_text[truth["total_dlp"]])
    button = win.proposals.table.cellWidget(row, 0)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    added = win.doc.data_of("total_dlp")
    assert added is not None and added["type"] == "decimal" and added["label"] == "Total DLP"
    assert truth["total_dlp"] not in {p.text for p in win.proposals.proposals}
    # the list keeps its place (the next proposal is where the accepted one was), the highlight is off
    assert win.proposals.table.currentRow() == min(row, len(win.proposals.proposals) - 1)
    assert not win.canvas.marker.isVisible()
    # on the frame: a double-click on a proposal's box accepts it, a right-click rejects one
    from PySide6.QtCore import QPointF

    def centre_of(p):
        return win.canvas.mapFromScene(QPointF(p.box[0] + p.box[2] / 2, p.box[1] + p.box[3] / 2))

    target = by_text[truth["accession"]]
    win.canvas.focus_box(target.box, zoom=1.0)
    qtbot.mouseDClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre_of(target))
    assert win.doc.data_of(target.name) is not None and target not in win.proposals.proposals
    other = by_text[truth["patient_id"]]
    win.canvas.focus_box(other.box, zoom=1.0)
    qtbot.mouseClick(win.canvas.viewport(), Qt.MouseButton.RightButton, pos=centre_of(other))
    assert other not in win.proposals.proposals and win.doc.data_of(other.name) is None
    assert len(win.canvas.proposal_items) == len(win.proposals.proposals)


def test_propose_on_a_chinese_registration_form(engine, manifest, samples_dir):
    from qcedge.teaching_mode.propose import propose_fields

    frame = next(f for f in manifest["frames"] if f["kind"] == "ris_registration" and f["variant"] == "clean")
    from qcedge.ocr_templates.engines.base import TextBox

    image = read_image(samples_dir / frame["path"])
    x, y, w, _ = frame["window"]  # detect in the form part of the window (as the GUI does when zoomed in on it)
    h = 370
    boxes = [TextBox((b.box[0] + x, b.box[1] + y, b.box[2], b.box[3]), b.text, b.confidence)
             for b in engine.detect(image[y:y + h, x:x + w])]
    proposals = {p.label: p for p in propose_fields(boxes, image)}
    truth = frame["fields"]
    expect = {"检查号": ("accession", truth["accession"], "code", False),
              "患者ID": ("patient_id", truth["patient_id"], "code", True),
              "姓名": ("patient_name", truth["name"], "text", True),
              "年龄": ("age", truth["age"], "integer", False)}
    for label, (name, text, vtype, personal) in expect.items():
        p = proposals[label]
        assert (p.name, p.text, p.spec["type"], p.personal) == (name, text, vtype, personal), label
    # a value is never another label ("姓名" is not the value of anything)
    assert not {"姓名", "性别", "检查号"} & {p.text for p in proposals.values()}


def test_test_table_over_frames(qtbot, window, ct_frames, tmp_path):
    """Teach two fields, test on frames of the screen and on another screen that must not match."""
    import cv2
    import numpy as np

    win = window
    win.live.enabled = False
    clean = [f for f in ct_frames if f["variant"] == "clean"]
    win.sources.open_source(str(clean[0]["abspath"]))
    tpl = add_sample_anchors(win, clean[0])
    for key, spec in (("accession", {"type": "code", "regex": r"^CT\d{10}$"}),
                      ("total_dlp", {"type": "decimal", "range": [0.1, 20000]})):
        win.doc.add_item("field", {"name": key, "box": frame_box(clean[0], key), **spec})
    folder = tmp_path / "frames"
    folder.mkdir()
    for f in clean[:3]:
        (folder / Path(f["path"]).name).write_bytes(Path(f["abspath"]).read_bytes())
    other = read_image(clean[0]["abspath"])
    x, y, w, h = clean[0]["window"]
    other[y:y + h, x:x + w] = np.array([200, 120, 40], np.uint8)  # another program's window
    cv2.putText(other, "RIS registration", (x + 40, y + 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    cv2.imwrite(str(folder / "zz_other_screen.png"), other)
    win.tester.run_test(folder)
    qtbot.waitUntil(lambda: win.tester.job is None, timeout=60000)
    table = win.test_panel.table
    assert table.rowCount() == 4
    statuses = [table.item(r, 2).text() for r in range(4)]
    assert statuses[:3] == ["complete"] * 3 and statuses[3] == "no match"
    cols = {table.horizontalHeaderItem(c).text(): c for c in range(table.columnCount())}
    for r, f in enumerate(clean[:3]):
        assert table.item(r, cols["accession"]).text() == f["fields"]["accession"]
        assert float(table.item(r, cols["total_dlp"]).text()) == pytest.approx(float(f["fields"]["total_dlp"]))
    assert "3 matched" in win.test_panel.summary.text() and "1 did not match" in win.test_panel.summary.text()
    # the frame that did not match names its failing anchors, in the row and in the detail
    anchor_names = [a.name for a in tpl.anchors]
    assert "✗" in table.item(3, 1).text() and any(n in table.item(3, 1).text() for n in anchor_names)
    table.selectRow(3)
    from PySide6.QtWidgets import QLabel

    detail = " ".join(w.text() for w in win.test_panel.crops_box.findChildren(QLabel))
    assert "no match" in detail and all(n in detail for n in anchor_names) and "✗" in detail
    # a matched row opens that frame with the template matched on it: boxes mapped, anchors scored
    table.selectRow(1)
    assert win.doc.frame is not None and win.doc.mapping is not None and win.doc.mapping.matched
    assert win.items.anchors[anchor_names[0]].status.score > 0.8
    # a failure shows its crop: tighten a regex so every accession fails, and re-test one frame
    win.doc.update_item("accession", {"regex": r"^XX\d+$"})
    win.tester.run_test(folder, limit=1)
    qtbot.waitUntil(lambda: win.tester.job is None, timeout=60000)
    assert table.item(0, 2).text() == "needs review"
    assert table.item(0, cols["accession"]).background().color().red() > 200
    table.selectRow(0)
    pictures = [w for w in win.test_panel.crops_box.findChildren(QLabel) if not w.pixmap().isNull()]
    assert pictures, "the failed field's crop is not shown"


def test_template_pack_roundtrip(window, ct_clean, tmp_path):
    from qcedge.teaching_mode.pack import load_pack, save_pack

    draft = TemplateDraft.load(SAMPLE_TEMPLATE)
    save_pack(tmp_path / "pack", [draft], version="7", title="CT screens")
    pack = load_pack(tmp_path / "pack")
    assert pack.version == "7" and [t.id for t in pack.templates] == ["ct_dose_report"]
    meta = yaml.safe_load((tmp_path / "pack" / "pack.yaml").read_text(encoding="utf-8"))
    assert meta["templates"] == ["ct_dose_report.yaml"]
    # the copy in the pack reads the same template as the hand-written original
    assert dump_template(pack.templates[0]) == dump_template(load_template(SAMPLE_TEMPLATE))


def test_chinese_interface(qtbot):
    from PySide6.QtWidgets import QApplication

    from qcedge.teaching_mode import i18n
    from qcedge.teaching_mode.main_window import MainWindow

    app = QApplication.instance()
    translator = i18n.install(app, "zh_CN")
    assert translator is not None
    try:
        win = MainWindow(live_ocr=False)
        qtbot.addWidget(win)
        assert win.act_save.text() == "保存模板"
        assert win.act_propose.text() == "提议字段"
        assert win.act_save.shortcut().toString() == "Ctrl+S"
        # every action, menu and tooltip is Chinese (the language names excepted), the menu checks 中文
        import re

        from PySide6.QtGui import QAction
        from PySide6.QtWidgets import QMenu

        cjk = re.compile(r"[\u4e00-\u9fff]")
        recent = set(win.files.recent_menu.actions())  # file names
        english = [a.text() for a in win.findChildren(QAction) if a.text() and not cjk.search(a.text())
                   and a.text() not in ("English", "中文") and a not in recent]
        english += [m.title() for m in win.menuBar().findChildren(QMenu) if m.title() and not cjk.search(m.title())]
        english += [a.toolTip() for a in win.findChildren(QAction) if a.toolTip() != a.text().replace("&", "")
                    and a.toolTip() and not cjk.search(a.toolTip()) and a not in recent]
        assert not english, english
        assert win.act_lang["zh_CN"].isChecked() and not win.act_lang["en"].isChecked()
        assert win.test_panel.status_text("needs_review") == "需复核" and win.test_panel.status_text("no match") == "未匹配"
        from qcedge.teaching_mode.value_types import type_name

        assert type_name("decimal") == "小数"
        # Qt's own dialogs (the file dialog) speak Chinese too
        from PySide6.QtCore import QCoreApplication

        assert QCoreApplication.translate("QFileDialog", "&Open") != "&Open"
        win.shutdown()
    finally:
        app.removeTranslator(translator)
        i18n.active = "en"


def test_every_interface_text_has_a_chinese_translation():
    """The shipped .ts (refreshed by `python -m qcedge.teaching_mode.i18n.build`) leaves nothing unfinished."""
    import xml.etree.ElementTree as ET

    from qcedge.teaching_mode.i18n import HERE

    root = ET.parse(HERE / "qcedge_teach_zh_CN.ts").getroot()
    unfinished = [m.findtext("source") for m in root.iter("message")
                  if m.find("translation").get("type") == "unfinished"]
    assert not unfinished, unfinished


def test_test_on_a_recording_reads_each_screen_once(qtbot, window, ct_frames, manifest, samples_dir, tmp_path):
    """A recording: repeated frames of the same screen are read once; a foreign screen does not match."""
    import cv2

    win = window
    win.live.enabled = False
    clean = [f for f in ct_frames if f["variant"] == "clean"]
    foreign = next(f for f in manifest["frames"] if f["kind"] == "foreign_desktop")
    win.files.open_template(SAMPLE_TEMPLATE)
    video = tmp_path / "session.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5, (1920, 1080))
    for path in (samples_dir / foreign["path"], clean[0]["abspath"], clean[1]["abspath"]):
        image = read_image(path)
        for _ in range(4):  # the screen stays up for a while
            writer.write(image)
    writer.release()
    win.tester.run_test(video)
    qtbot.waitUntil(lambda: win.tester.job is None, timeout=90000)
    table = win.test_panel.table
    assert table.rowCount() == 3, "unchanged frames of a recording must not be read again"
    assert [table.item(r, 2).text() != "no match" for r in range(3)] == [False, True, True]
    cols = {table.horizontalHeaderItem(c).text(): c for c in range(table.columnCount())}
    for r, f in ((1, clean[0]), (2, clean[1])):
        assert table.item(r, cols["accession"]).text() == f["fields"]["accession"]
        assert table.item(r, 0).text().startswith("session.avi #")


def test_edit_on_a_moved_frame_maps_boxes_and_saves_reference_coordinates(qtbot, window, ct_frames, tmp_path):
    """A template opened on another frame (window moved) is matched: boxes sit on that frame's values,
    live OCR reads them, and a box moved there is stored (and saved) in reference coordinates."""
    win = window
    moved = next(f for f in ct_frames if f["variant"] == "moved")
    win.files.open_template(SAMPLE_TEMPLATE)
    ref_box = list(win.doc.data_of("accession")["box"])
    win.sources.open_source(str(moved["abspath"]))
    qtbot.waitUntil(lambda: win.doc.mapping is not None, timeout=30000)
    assert win.doc.mapping.matched and win.doc.frame is not None
    wx, wy = moved["window"][:2]
    item = win.canvas.items_by_name["accession"]
    assert item.box()[:2] == [ref_box[0] + wx, ref_box[1] + wy] or (
        abs(item.box()[0] - ref_box[0] - wx) <= 2 and abs(item.box()[1] - ref_box[1] - wy) <= 2)
    res = wait_result(qtbot, win, "accession", lambda r: r.valid)
    assert res.text.replace(" ", "") == moved["fields"]["accession"]
    # anchors show their live score on this frame
    assert all(status is not None and status.score > 0.8 for status, _ in win.items.anchors.values())
    # drag the box 30 px right on this frame: the template's box moves 30 px (scale 1) in reference terms
    x, y, w, h = item.box()
    win.set_tool("select")
    drag(qtbot, win.canvas, (x + w / 2, y + h / 2), (x + w / 2 + 30, y + h / 2))
    new = win.doc.data_of("accession")["box"]
    assert new[0] == pytest.approx(ref_box[0] + 30, abs=2) and new[1] == pytest.approx(ref_box[1], abs=2)
    assert win.act_undo.text().endswith("Move box")
    win.act_undo.trigger()
    assert win.doc.data_of("accession")["box"] == ref_box
    out = tmp_path / "ct.yaml"
    assert win.files.save_to(out)
    saved = load_template(out)
    assert list(saved.field("accession").box.as_tuple()) == ref_box
    # the saved reference is the template's own reference image, not the moved frame
    assert read_image(out.with_suffix(".png")).shape == read_image(SAMPLE_TEMPLATE.with_suffix(".png")).shape
    # this frame as the reference: the boxes move to where they are on it
    on_frame = list(item.box())
    win.act_reference.trigger()
    assert win.doc.mapping is None and win.doc.draft.image.shape == (1080, 1920, 3)
    assert win.doc.data_of("accession")["box"] == on_frame and win.isWindowModified()
    # a new template starts on the frame shown, empty
    frame = win.doc.image
    win.act_new.trigger()
    assert not win.doc.draft.fields and not win.doc.draft.anchors and np.array_equal(win.doc.draft.image, frame)
    assert not win.canvas.items_by_name and win.doc.mapping is None


def test_onboarding_fit_title_recent_help_and_test_again(qtbot, engine, ct_frames, tmp_path):
    """A frame opened before the window is shown is fitted to the window (not 3 %); the title marks
    unsaved changes; recent files; the Help menu shows the guide; a test runs again on the same frames."""
    from PySide6.QtCore import QSettings

    from qcedge.teaching_mode.main_window import MainWindow

    QSettings().remove("recent")
    QSettings().remove("test/last")
    win = MainWindow(live_ocr=False, quiet_errors=True)
    qtbot.addWidget(win)
    clean = [f for f in ct_frames if f["variant"] == "clean"]
    win.sources.open_source(str(clean[0]["abspath"]))  # as `qcedge teach FILE` does: before show()
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    try:
        vp = win.canvas.viewport()
        zoom = win.canvas.transform().m11()
        # the whole 1920x1080 frame fills the view: fitted at the view's real size
        assert abs(1920 * zoom - vp.width()) <= 4 or abs(1080 * zoom - vp.height()) <= 4
        assert zoom > 0.2
        assert not win.isWindowModified() and "[*]" in win.windowTitle()
        add_sample_anchors(win, clean[0])
        win.doc.add_item("field", {"name": "accession", "box": frame_box(clean[0], "accession"), "type": "code"})
        assert win.isWindowModified()
        out = tmp_path / "t.yaml"
        assert win.files.save_to(out) and not win.isWindowModified()
        recent = [a.toolTip() for a in win.files.recent_menu.actions()]
        assert str(out.resolve()) in recent and str(Path(clean[0]["abspath"]).resolve()) in recent
        # the language menu checks the language in use
        assert sum(a.isChecked() for a in win.act_lang.values()) == 1
        # Help opens the teaching guide with its text
        win.act_help.trigger()
        assert "qcedge teach" in win.help_dialog.findChild(QTextBrowserType()).toPlainText()
        win.help_dialog.close()
        # test on two files, then run it again (remembered)
        files = [str(f["abspath"]) for f in clean[:2]]
        win.tester.run_test(files)
        qtbot.waitUntil(lambda: win.tester.job is None, timeout=60000)
        assert win.test_panel.table.rowCount() == 2 and win.act_test_again.isEnabled()
        win.test_panel.table.setRowCount(0)
        win.act_test_again.trigger()
        qtbot.waitUntil(lambda: win.tester.job is None and win.test_panel.table.rowCount() == 2, timeout=60000)
        assert [win.test_panel.table.item(r, 0).text() for r in range(2)] == [Path(f).name for f in files]
    finally:
        win.doc.dirty = False
        win.shutdown()


def QTextBrowserType():
    from PySide6.QtWidgets import QTextBrowser

    return QTextBrowser


def test_no_frames_left_in_the_temp_folder(qtbot, window, ct_frames, tmp_path, monkeypatch):
    """Testing writes no frame to disk; the flow tab's folder goes when the window closes; folders of a
    crashed window are removed at the next start, those of a running one kept."""
    import os
    import subprocess
    import sys
    import tempfile

    from qcedge.teaching_mode.privacy import clean_stale

    before = {p.name for p in Path(tempfile.gettempdir()).glob("qcedge-teach-*")}
    win = window
    win.live.enabled = False
    clean = [f for f in ct_frames if f["variant"] == "clean"]
    win.sources.open_source(str(clean[0]["abspath"]))
    add_sample_anchors(win, clean[0])
    win.doc.add_item("field", {"name": "accession", "box": frame_box(clean[0], "accession"), "type": "code"})
    win.tester.run_test(str(clean[1]["abspath"]))
    qtbot.waitUntil(lambda: win.tester.job is None, timeout=60000)
    assert win.tester.outcomes and win.tester.outcomes[0].match.matched
    assert {p.name for p in Path(tempfile.gettempdir()).glob("qcedge-teach-*")} <= before
    flow_tmp = win.flow_panel._tmp
    assert flow_tmp.is_dir() and str(os.getpid()) in flow_tmp.name
    win.shutdown()
    assert not flow_tmp.exists() and not win.tester.outcomes
    # stale folders: one of a process that is gone, one of this (running) process
    root = tmp_path / "tmp"
    root.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = root / f"qcedge-teach-{gone.stdout.strip()}-abc"
    (dead / "frames").mkdir(parents=True)
    (dead / "frames" / "f.png").write_bytes(b"x")
    alive = root / f"qcedge-flow-{os.getpid()}-def"
    alive.mkdir()
    other = root / "somebody-else"
    other.mkdir()
    removed = clean_stale(root)
    assert removed == [dead] and not dead.exists() and alive.exists() and other.exists()


def test_propose_from_several_frames_of_a_folder(qtbot, window, manifest, samples_dir, tmp_path):
    """Ctrl+Shift+P on a folder: proposals learned from other frames (values of each, types across them)."""
    import shutil

    win = window
    win.live.enabled = False
    clean = [f for f in manifest["frames"] if f["kind"] == "ris_registration" and f["variant"] == "clean"][:3]
    folder = tmp_path / "ris"
    folder.mkdir()
    for f in clean:
        shutil.copy(samples_dir / f["path"], folder / Path(f["path"]).name)
    win.sources.open_source(str(folder))
    assert win.proposer.other_frames() == [1, 2]
    win.act_propose_multi.trigger()
    qtbot.waitUntil(lambda: bool(win.proposals.proposals), timeout=60000)
    dept = next(p for p in win.proposals.proposals if p.label == "科室")
    assert [t.replace(" ", "") for t in dept.texts] == [f["fields"]["department"] for f in clean]
    assert next(p for p in win.proposals.proposals if p.label == "年龄").spec["type"] == "integer"
    # the values seen are shown in the list
    row = win.proposals.proposals.index(dept)
    assert all(f["fields"]["department"] in win.proposals.table.item(row, 4).text() for f in clean)
