"""Second engine: Debian's Tesseract 5 (chi_sim + eng) in-process through tesserocr."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qcedge.ocr_templates.engines.base import OcrEngine, Recognition, TextBox, register
from qcedge.ocr_templates.errors import EngineUnavailable

__all__ = ["EngineUnavailable", "TesseractEngine"]

log = logging.getLogger(__name__)

TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata")


def _tessdata(langs: str) -> str:
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    candidates += list(TESSDATA_DIRS)
    for d in candidates:
        if all((Path(d) / f"{lang}.traineddata").is_file() for lang in langs.split("+")):
            return d
    raise EngineUnavailable(f"Tesseract language data '{langs}' not found in {', '.join(candidates)} "
                            "(apt install tesseract-ocr-chi-sim tesseract-ocr-eng)")


@register("tesseract")
class TesseractEngine(OcrEngine):
    """Tesseract LSTM, one text line per crop (PSM 7).

    Its confidences say little about single wrong characters, so every field is
    read twice (at two sizes) and marked for review when the readings differ.
    """

    second_reading = "all"

    def __init__(self, langs: str = "chi_sim+eng") -> None:
        try:
            import tesserocr
        except ImportError as exc:
            raise EngineUnavailable(f"the 'tesseract' engine needs tesserocr ({exc})") from None
        self._tesserocr = tesserocr
        path = _tessdata(langs)
        self._api = tesserocr.PyTessBaseAPI(path=path, lang=langs, psm=tesserocr.PSM.SINGLE_LINE)
        self._api.SetVariable("preserve_interword_spaces", "1")
        self._lock = threading.Lock()

    @staticmethod
    def _pil(image: np.ndarray):
        from PIL import Image

        if image.ndim == 2:
            return Image.fromarray(image)
        return Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        out: list[Recognition] = []
        with self._lock:
            self._api.SetPageSegMode(self._tesserocr.PSM.SINGLE_LINE)
            for crop in crops:
                if crop is None or crop.size == 0 or min(crop.shape[:2]) < 2:
                    out.append(Recognition("", 0.0))
                    continue
                self._api.SetImage(self._pil(crop))
                text = self._api.GetUTF8Text().strip()
                conf = self._api.MeanTextConf()
                out.append(Recognition(_join_cjk(text), max(0.0, conf) / 100.0 if text else 0.0))
        return out

    def detect(self, image: np.ndarray) -> list[TextBox]:
        tess = self._tesserocr
        found: list[TextBox] = []
        with self._lock:
            self._api.SetPageSegMode(tess.PSM.SPARSE_TEXT)
            self._api.SetImage(self._pil(image))
            self._api.Recognize()
            it = self._api.GetIterator()
            level = tess.RIL.TEXTLINE
            for r in tess.iterate_level(it, level):
                text = r.GetUTF8Text(level)
                if not text or not text.strip():
                    continue
                bb = r.BoundingBox(level)
                if bb is None:
                    continue
                x0, y0, x1, y1 = bb
                found.append(TextBox((x0, y0, x1 - x0, y1 - y0), _join_cjk(text.strip()), r.Confidence(level) / 100.0))
            self._api.SetPageSegMode(tess.PSM.SINGLE_LINE)
        return found


def _join_cjk(text: str) -> str:
    """Tesseract puts spaces between CJK characters; remove those (keep Latin word spaces)."""
    chars = list(text)
    out = []
    for i, c in enumerate(chars):
        if c == " " and 0 < i < len(chars) - 1 and (_cjk(chars[i - 1]) or _cjk(chars[i + 1])):
            continue
        out.append(c)
    return "".join(out)


def _cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or "\uff00" <= c <= "\uffef"
