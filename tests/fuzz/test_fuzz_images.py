"""Seeded fuzz of image files given to `qcedge ocr`: a whole image is read; a damaged, cut short or foreign file
gives one line naming it and exit 2 (an image that decodes but does not match: exit 1), with no decoder noise (libpng, libjpeg, OpenCV) before it."""
from __future__ import annotations

from pathlib import Path

import cv2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcedge.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "samples" / "templates" / "dr_exposure_panel.yaml"


def _frames() -> dict[str, bytes]:
    img = cv2.imread(str(TEMPLATE.with_suffix(".png")))
    small = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2))
    return {ext: cv2.imencode(ext, small)[1].tobytes() for ext in (".png", ".jpg", ".bmp")}


FRAMES = _frames()


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(ext=st.sampled_from(sorted(FRAMES)), pos=st.integers(0, 10**7), byte=st.integers(0, 255),
       how=st.sampled_from(["cut", "flip", "head", "whole"]))
def test_damaged_images_give_one_line_or_a_reading(tmp_path_factory, capfd, ext, pos, byte, how):
    raw = bytearray(FRAMES[ext])
    p = pos % len(raw)
    if how == "cut":
        raw = raw[:p]
    elif how == "flip":
        raw[p] = byte
    elif how == "head":
        raw = raw[: min(len(raw), 40)]
    path = tmp_path_factory.mktemp("img") / f"frame{ext}"
    path.write_bytes(bytes(raw))
    code = main(["ocr", "--template", str(TEMPLATE), "--json", str(path)])
    out, err = capfd.readouterr()
    assert code in (0, 1, 2), (code, err)   # 1: read, but the template did not match

    if code == 2:
        assert err.count("\n") == 1 and str(path) in err and err.startswith("qcedge ocr:"), err
    else:
        assert err == "" and out.strip(), err


def test_a_text_file_named_png_is_refused(tmp_path, capfd):
    path = tmp_path / "notes.png"
    path.write_text("not a picture\n", encoding="utf-8")
    assert main(["ocr", "--template", str(TEMPLATE), str(path)]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "notes.png" in err
