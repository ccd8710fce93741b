"""Default engine: PP-OCRv6 (small) on ONNX Runtime, from the models the `rapidocr` wheel ships.

Recognition of known boxes runs the recogniser only (no detection, no angle
classifier). Nothing is ever downloaded: a missing model file is an error.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qcedge.ocr_templates.engines.base import OcrEngine, Recognition, TextBox, register
from qcedge.ocr_templates.errors import EngineUnavailable

__all__ = ["EngineUnavailable", "MODEL_FILES", "PpOcrEngine", "default_model_dir"]

log = logging.getLogger(__name__)

MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


MIN_REC_WIDTH = 48


def default_model_dir() -> Path:
    """Where the `rapidocr` wheel keeps its model files."""
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineUnavailable(f"the 'ppocr' engine needs the rapidocr package ({exc})") from None
    return Path(rapidocr.__file__).resolve().parent / "models"


@register("ppocr")
class PpOcrEngine(OcrEngine):
    """PP-OCRv6 small det/rec on onnxruntime (via rapidocr 3).

    `threads`: onnxruntime intra-op threads per inference. One by default: on a
    shared 2-core console a second intra-op thread mostly spins (measured 2x
    slower per crop under load); None lets onnxruntime use every core.
    `workers`: crops recognised side by side (one inference each; 11 -> 7 ms
    a crop on 2 cores). Detection has an instance of its own, so a detection
    never changes the flags of a recognition in flight.
    """

    def __init__(self, model_dir: str | Path | None = None, threads: int | None = 1,
                 det_limit_side_len: int = 960, min_rec_width: int = MIN_REC_WIDTH, workers: int = 2) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_dir()
        paths = {task: model_dir / name for task, name in MODEL_FILES.items()}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise EngineUnavailable(
                "PP-OCR model files missing (no download is attempted): " + ", ".join(missing))
        from rapidocr import RapidOCR

        params: dict[str, object] = {
            "Global.log_level": "error",
            "Global.model_root_dir": str(model_dir),
            "Global.max_side_len": 4000,
            "Det.model_path": str(paths["Det"]),
            "Det.limit_type": "max",
            "Det.limit_side_len": det_limit_side_len,
            "Rec.model_path": str(paths["Rec"]),
            # rapidocr pads every line to at least 320 px (6.7 x its height) before the recogniser:
            # a short value then costs as much as a long one. Pad only to `min_rec_width`.
            "Rec.rec_img_shape": [3, 48, min_rec_width],
            "Cls.model_path": str(paths["Cls"]),
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        self._ocr = RapidOCR(params=params)       # recognition only (models load on first use)
        self._det = RapidOCR(params=params)       # detection + recognition of whole images
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self._lock = threading.Lock()
        self._workers = max(1, workers)
        self._pool = None

    def _one(self, crop: np.ndarray | None) -> Recognition:
        if crop is None or crop.size == 0 or min(crop.shape[:2]) < 2:
            return Recognition("", 0.0)
        if crop.ndim == 2:
            import cv2

            crop = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
        # the flags on every call: rapidocr 3 keeps them between calls
        res = self._ocr(crop, use_det=False, use_cls=False, use_rec=True)
        txts = getattr(res, "txts", None) or ("",)
        scores = getattr(res, "scores", None) or (0.0,)
        return Recognition(str(txts[0]), float(scores[0]))

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        if self._workers == 1 or len(crops) < 2:
            return [self._one(c) for c in crops]
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._one(crops[0])  # load the model once, before threads race for it
                    self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="ppocr")
        return list(self._pool.map(self._one, crops))

    def detect(self, image: np.ndarray) -> list[TextBox]:
        with self._lock:
            res = self._det(image, use_det=True, use_cls=False, use_rec=True)
        boxes = getattr(res, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        found: list[TextBox] = []
        for quad, text, score in zip(boxes, res.txts, res.scores):
            quad = np.asarray(quad)
            x0, y0 = np.floor(quad.min(axis=0)).astype(int)
            x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
            found.append(TextBox((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), str(text), float(score)))
        found.sort(key=lambda b: (b.box[1] // 8, b.box[0]))
        return found
