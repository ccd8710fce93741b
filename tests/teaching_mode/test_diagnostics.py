"""Match diagnostics: each anchor's score, the failing anchors, 'outside the frame'; weak-anchor warnings."""
from __future__ import annotations

from qcedge.ocr_templates import load_template
from qcedge.ocr_templates import match_template
from qcedge.teaching_mode.diagnostics import anchor_warnings, explain, pack_references
from qcedge.teaching_mode.draft import TemplateDraft, read_image
from tests.conftest import ROOT

CT = ROOT / "samples" / "templates" / "ct_dose_report.yaml"


def test_a_cropped_frame_names_the_anchor_outside_it(ct_frames):
    template = load_template(CT)
    frame = next(f for f in ct_frames if f["variant"] == "clean")
    image = read_image(frame["abspath"])
    top = frame["window"][1] + 15
    cropped = image[top:]  # the capture starts below the window's title bar
    report = explain(template, match_template(cropped, template), cropped.shape)
    title = next(a for a in report.anchors if a.name == "title_bar")
    assert title.outside and "outside the frame" in title.reason()
    assert "title_bar" in report.summary() and "outside the frame" in report.summary()
    # either the match fails on it (and names it), or the matcher left it out of the score (and says so)
    assert (not report.matched and title in report.failing) or (title.hidden is not None and not title.failed)
    # the other anchors were found: the detail says which ones are fine
    assert all(a.score > 0.9 for a in report.anchors if a.name != "title_bar")
    assert any(line.startswith("✓") for line in report.details())
    # the whole frame matches, every anchor scored
    whole = explain(template, match_template(image, template), image.shape)
    assert whole.matched and not whole.failing and "match: score" in whole.summary()


def test_weak_anchor_warnings(ct_clean, tmp_path):
    image = read_image(ct_clean["abspath"])
    wx, wy, ww, _ = ct_clean["window"]
    anchors = [{"name": "tiny", "box": [wx + 100, wy + 100, 8, 8]},
               {"name": "plain", "box": [wx + 800, wy + 300, 150, 60]},  # empty panel background
               {"name": "straddle", "box": [wx - 40, wy + 200, 90, 40]},  # half desktop, half window
               {"name": "corner", "box": [0, 0, 60, 30]},
               {"name": "good", "box": [wx + 4, wy + 3, 260, 24]}]
    notes = anchor_warnings(anchors, image)
    assert any("too small" in n for n in notes["tiny"])
    assert any("plain" in n for n in notes["plain"])
    assert any("window edge" in n for n in notes["straddle"])
    assert any("edge of the frame" in n for n in notes["corner"])
    assert "good" not in notes
    # not distinctive: the same anchor is on another template of the pack
    draft = TemplateDraft.load(CT)
    other = {"copy_of_ct": draft.image}
    notes = anchor_warnings(draft.anchors, draft.image, other)
    assert all(any("also on template copy_of_ct" in n for n in notes[a["name"]]) for a in draft.anchors)
    # the sample pack's templates differ from each other: no such warning there
    notes = anchor_warnings(draft.anchors, draft.image, pack_references(draft.path, "ct_dose_report"))
    assert not any("also on template" in n for ns in notes.values() for n in ns)
