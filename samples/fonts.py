"""The TrueType fonts the simulated screens use (Debian packages, no downloads).

fonts-noto-cjk, fonts-wqy-zenhei and fonts-dejavu-core are installed by
scripts/setup.sh. A missing font file is a clear error, not a silent fallback.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

NOTO = "/usr/share/fonts/opentype/noto"
DEJAVU = "/usr/share/fonts/truetype/dejavu"
WQY = "/usr/share/fonts/truetype/wqy"

# family name -> (file, face index in a .ttc)
FAMILIES: dict[str, tuple[str, int]] = {
    "noto_sans_sc": (f"{NOTO}/NotoSansCJK-Regular.ttc", 2),
    "noto_sans_sc_bold": (f"{NOTO}/NotoSansCJK-Bold.ttc", 2),
    "noto_sans_mono_sc": (f"{NOTO}/NotoSansCJK-Regular.ttc", 7),
    "noto_serif_sc": (f"{NOTO}/NotoSerifCJK-Regular.ttc", 2),
    "wqy_zenhei": (f"{WQY}/wqy-zenhei.ttc", 0),
    "wqy_zenhei_sharp": (f"{WQY}/wqy-zenhei.ttc", 2),
    "dejavu_sans": (f"{DEJAVU}/DejaVuSans.ttf", 0),
    "dejavu_sans_bold": (f"{DEJAVU}/DejaVuSans-Bold.ttf", 0),
    "dejavu_mono": (f"{DEJAVU}/DejaVuSansMono.ttf", 0),
    "dejavu_serif": (f"{DEJAVU}/DejaVuSerif.ttf", 0),
}

# Families that have CJK glyphs (Chinese screens may only use these).
CJK_FAMILIES = ("noto_sans_sc", "noto_sans_mono_sc", "noto_serif_sc", "wqy_zenhei")


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=512)
def font(family: str, size: int) -> ImageFont.FreeTypeFont:
    """A loaded font of `family` at `size` pixels (cached)."""
    try:
        path, index = FAMILIES[family]
    except KeyError:
        raise FontMissing(f"unknown font family {family!r}") from None
    if not Path(path).is_file():
        raise FontMissing(f"font file {path} is missing: install fonts-noto-cjk fonts-wqy-zenhei fonts-dejavu-core")
    return ImageFont.truetype(path, max(6, int(size)), index=index)
