"""The dry-run drawing: where each step would click, numbered, on a screenshot, with a legend."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
RED, BLUE, GREY = (0, 0, 230), (200, 90, 0), (90, 90, 90)


class Drawing:
    def __init__(self, frame: np.ndarray) -> None:
        self.frame = frame.copy()
        self.items: list[tuple[str, str, Any]] = []  # (label, text, located or None)
        self._seen: set[str] = set()

    @staticmethod
    def _key(label: str) -> str:
        # one mark per step, not per loop iteration: drop "[2/5]" counters
        import re

        return re.sub(r" \[\d+/\d+\]", "", label)

    def click(self, where, label: str, button: str, clicks: int) -> None:
        key = self._key(label)
        if key in self._seen:
            return
        self._seen.add(key)
        kind = {"left": "click", "right": "right-click", "type": "click, then type"}.get(button, button)
        if clicks == 2:
            kind = "double-click"
        self.items.append((key, f"{kind} at {where.point[0]},{where.point[1]} ({where.how}, score {where.score:.2f})", where))

    def note(self, label: str, text: str) -> None:
        key = self._key(label)
        if key + text in self._seen:
            return
        self._seen.add(key + text)
        self.items.append((key, text, None))

    def render(self) -> np.ndarray:
        img = self.frame.copy()
        n = 0
        numbered: list[tuple[int | None, str, str]] = []
        for label, text, where in self.items:
            if where is None:
                numbered.append((None, label, text))
                continue
            n += 1
            x, y, w, h = where.box
            cv2.rectangle(img, (x, y), (x + w, y + h), BLUE, 2)
            px, py = where.point
            cv2.circle(img, (px, py), 12, RED, 3)
            cv2.line(img, (px - 18, py), (px + 18, py), RED, 1)
            cv2.line(img, (px, py - 18), (px, py + 18), RED, 1)
            cv2.putText(img, str(n), (px + 14, py - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.8, RED, 2, cv2.LINE_AA)
            numbered.append((n, label, text))
        return self._legend(img, numbered)

    def _legend(self, img: np.ndarray, rows: list[tuple[int | None, str, str]]) -> np.ndarray:
        line_h = 24
        panel = np.full((line_h * (len(rows) + 2), img.shape[1], 3), 255, np.uint8)
        lines = ["DRY RUN: nothing was sent. Red marks: where each step would click."] + [
            f"{'#' + str(n) if n else '-'}  {label}: {text}" for n, label, text in rows]
        font = _font()
        if font is None:
            for i, t in enumerate(lines):
                cv2.putText(panel, t.encode("ascii", "replace").decode(), (8, 18 + i * line_h),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        else:
            from PIL import Image, ImageDraw

            pil = Image.fromarray(cv2.cvtColor(panel, cv2.COLOR_BGR2RGB))
            draw = ImageDraw.Draw(pil)
            for i, t in enumerate(lines):
                draw.text((8, 3 + i * line_h), t, fill=(0, 0, 0), font=font)
            panel = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
        return np.vstack([img, panel])


_FONT: Any = False


def _font():
    global _FONT
    if _FONT is False:
        _FONT = None
        try:
            from PIL import ImageFont

            for f in FONT_FILES:
                if Path(f).is_file():
                    _FONT = ImageFont.truetype(f, 16)
                    break
        except Exception:  # noqa: BLE001 - fall back to OpenCV's ASCII font
            _FONT = None
    return _FONT
