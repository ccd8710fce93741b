"""What matching works on, prepared once: a template's anchor patches and a frame's reduced levels."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from qcedge.ocr_templates.errors import TemplateError
from qcedge.ocr_templates.match_tuning import BLUR_SIGMA, COARSE_MIN_SIDE, FINE_HALF_FROM, SCALE_STEP
from qcedge.ocr_templates.model import Anchor, Template
from qcedge.ocr_templates.preprocess import to_grey

log = logging.getLogger(__name__)


def load_reference(template: Template) -> np.ndarray:
    """The template's reference image, grey."""
    path = template.reference_path
    if path is None:
        raise TemplateError(template.id, "the template has no file path, so its reference image cannot be found",
                            "reference > image")
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise TemplateError(str(template.path), f"reference image '{template.reference.image}' cannot be read",
                            "reference > image")
    return img


@dataclass
class AnchorModel:
    """One anchor ready to search for: its smoothed reference patch and resized copies (cached)."""

    anchor: Anchor
    patch: np.ndarray                       # grey, smoothed, reference pixels
    centre: tuple[float, float]             # reference coordinates
    cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def at(self, w: int, h: int) -> np.ndarray:
        """The patch resized to w x h."""
        key = (w, h)
        p = self.cache.get(key)
        if p is None:
            interp = cv2.INTER_AREA if w < self.patch.shape[1] else cv2.INTER_LINEAR
            p = cv2.resize(self.patch, (w, h), interpolation=interp)
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[key] = p
        return p


class TemplateModel:
    """A template prepared for matching: anchor patches, the scale ladder, and where it was last seen."""

    def __init__(self, template: Template, reference: np.ndarray | None = None) -> None:
        self.template = template
        ref = to_grey(reference) if reference is not None else load_reference(template)
        rh, rw = ref.shape[:2]
        if (rw, rh) != (template.reference.width, template.reference.height):
            log.warning("template %s: reference image is %dx%d, the template says %dx%d", template.id, rw, rh,
                        template.reference.width, template.reference.height)
        self.ref = ref
        smooth = cv2.GaussianBlur(ref, (0, 0), BLUR_SIGMA)
        self.anchors: list[AnchorModel] = []
        where = str(template.path or template.id)
        for i, a in enumerate(template.anchors):
            x, y, w, h = a.box.as_tuple()
            if x + w > rw or y + h > rh:
                raise TemplateError(where, f"box {[x, y, w, h]} lies outside the {rw}x{rh} reference image",
                                    f"anchors[{i}] '{a.name}' > box")
            patch = smooth[y:y + h, x:x + w]
            if float(patch.std()) < 2.0:
                raise TemplateError(where, "the anchor is a flat patch (no texture): it cannot locate the screen",
                                    f"anchors[{i}] '{a.name}' > box")
            self.anchors.append(AnchorModel(a, patch.copy(), (x + w / 2, y + h / 2)))
        m = template.match
        self.min_scale, self.max_scale = min(m.min_scale, m.max_scale), max(m.min_scale, m.max_scale)
        n = max(1, math.ceil(math.log(self.max_scale / self.min_scale) / math.log(SCALE_STEP)))
        self.scales = [self.min_scale * (self.max_scale / self.min_scale) ** (i / n) for i in range(n + 1)]
        # the coarse search leads with the biggest anchors that stay visible at the coarse level
        def rank(am: AnchorModel) -> tuple[bool, int]:
            return (min(am.patch.shape[:2]) * self.min_scale * 0.25 >= COARSE_MIN_SIDE, am.patch.size)

        self.coarse = sorted(self.anchors, key=rank, reverse=True)[:2]
        self.last: tuple[float, float, float] | None = None   # last good (scale, ox, oy)
        self.usual_scale = min(max(1.0, self.min_scale), self.max_scale)   # probed first: last scale seen
        self.last_score = 1.0
        self.text_checked = False   # an OCR engine reads text anchors (set by Matcher)

    def forget(self) -> None:
        """Forget where and at what scale the template was last seen (the next match starts cold)."""
        self.last = None
        self.usual_scale = min(max(1.0, self.min_scale), self.max_scale)


class Frame:
    """A frame prepared once for every template: grey, and its reduced, lightly smoothed levels."""

    def __init__(self, image: np.ndarray) -> None:
        if image is None or not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise ValueError("not an image (expected a BGR or grey numpy array)")
        if image.dtype != np.uint8:
            raise ValueError("not an 8-bit image")
        self.raw = to_grey(image)
        self.h, self.w = self.raw.shape[:2]
        self.levels: dict[float, np.ndarray] = {}
        # full resolution is only needed for small frames; big ones are refined at half size
        self.fine = 1.0 if self.w < FINE_HALF_FROM else 0.5

    def level(self, factor: float) -> np.ndarray:
        """The frame reduced by `factor` (1.0: full size) and smoothed in proportion (cached)."""
        img = self.levels.get(factor)
        if img is None:
            if factor == 1.0:
                img = self.raw
            else:
                size = (max(1, round(self.w * factor)), max(1, round(self.h * factor)))
                img = cv2.resize(self.raw, size, interpolation=cv2.INTER_AREA)
            sigma = BLUR_SIGMA * factor
            if sigma >= 0.5:
                img = cv2.GaussianBlur(img, (0, 0), sigma)
            self.levels[factor] = img
        return img
