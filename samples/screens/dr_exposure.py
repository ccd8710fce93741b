"""DR acquisition console, exposure panel (dark theme, light-on-dark text).

A patient banner, the image just taken, and the exposure parameters: kV, mAs, EI, DI
(signed, e.g. -0.8), body part in Chinese, view (PA/AP/LAT).
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from samples import chrome, names
from samples.chrome import Theme
from samples.paint import Font
from samples.screens.base import Canvas, Instance, Screen

W, H = 1000, 690
THEME = Theme(
    window=(27, 30, 35), title_bg=(16, 18, 22), title_fg=(225, 230, 235), border=(60, 66, 76), menu_bg=(34, 38, 44),
    menu_fg=(210, 216, 222), toolbar_bg=(34, 38, 44), panel=(38, 42, 49), text=(232, 236, 240), label=(150, 160, 172),
    accent=(0, 168, 214), field_bg=(22, 25, 29), field_border=(70, 78, 90), grid=(62, 68, 78), stripe=(44, 49, 57),
    status_bg=(20, 22, 26), status_fg=(160, 170, 180), button=(52, 58, 68), button_fg=(230, 234, 238),
)
CHROME = Font("noto_sans_sc", 13)
CHROME_BOLD = Font("noto_sans_sc_bold", 15)
TITLE = "LumenDR  Acquisition"
ANCHOR_TITLE = (6, 4, 230, 26)
ANCHOR_HEADER = (612, 118, 230, 28)
ANCHOR_TABS = (4, 36, 330, 28)

TILES = {  # name -> (label, unit, tile box); the value slot sits inside the tile
    "kv": ("kV", "", (620, 154, 180, 86)),
    "mas": ("mAs", "", (808, 154, 180, 86)),
    "ei": ("EI", "", (620, 248, 180, 86)),
    "di": ("DI", "", (808, 248, 180, 86)),
}
TILE_SLOT = (8, 30, 164, 46)  # inside a tile
SLOTS = {  # banner and detail slots: name -> (label, label pos, slot box)
    "patient_name": ("", (0, 0), (16, 72, 170, 30)),
    "patient_id": ("ID", (196, 87), (218, 74, 150, 26)),
    "accession": ("检查号", (380, 87), (432, 74, 160, 26)),
    "exam_time": ("检查时间", (606, 87), (672, 74, 160, 26)),
    "body_part": ("部位", (628, 364), (700, 350, 120, 28)),
    "view": ("体位", (628, 398), (700, 384, 120, 28)),
}
MAS_STEPS = [0.8, 1.0, 1.2, 1.6, 2.0, 2.5, 3.2, 4.0, 5.0, 6.3, 8.0, 10.0, 12.5, 16.0, 20.0, 25.0, 32.0, 40.0, 50.0, 63.0, 80.0]
BODY_PARTS = {  # part -> views, kV range, mAs range
    "胸部": (["PA", "LAT"], (105, 125), (1.0, 5.0)),
    "腹部": (["AP"], (72, 85), (12.5, 40.0)),
    "腰椎": (["AP", "LAT"], (75, 95), (16.0, 63.0)),
    "膝关节": (["AP", "LAT"], (58, 70), (3.2, 10.0)),
    "颈椎": (["AP", "LAT"], (68, 80), (5.0, 16.0)),
    "骨盆": (["AP"], (75, 85), (16.0, 40.0)),
    "肩关节": (["AP"], (65, 75), (6.3, 16.0)),
    "手腕": (["PA", "LAT"], (50, 57), (1.6, 4.0)),
    "踝关节": (["AP", "LAT"], (55, 63), (2.5, 6.3)),
    "头颅": (["PA", "LAT"], (70, 80), (12.5, 32.0)),
    "胸椎": (["AP", "LAT"], (75, 85), (16.0, 40.0)),
    "髋关节": (["AP"], (75, 85), (16.0, 40.0)),
    "足": (["AP"], (52, 60), (2.0, 5.0)),
    "肘关节": (["AP", "LAT"], (55, 62), (2.0, 5.0)),
}
EI_TARGET = 400


def radiograph(w: int, h: int, part: str, seed: float) -> Image.Image:
    """A grey synthetic radiograph: soft tissue, a few bone-like shapes, quantum noise."""
    rng = np.random.default_rng(int(seed * 1e9))
    sw, sh = max(8, w // 4), max(8, h // 4)
    img = Image.new("L", (sw, sh), 18)
    d = ImageDraw.Draw(img)
    d.ellipse((sw * 0.12, sh * 0.05, sw * 0.88, sh * 1.1), fill=120)
    if part in ("胸部", "胸椎"):
        d.ellipse((sw * 0.2, sh * 0.15, sw * 0.47, sh * 0.8), fill=55)
        d.ellipse((sw * 0.53, sh * 0.15, sw * 0.8, sh * 0.8), fill=55)
        for i in range(7):
            y = sh * (0.2 + i * 0.085)
            d.arc((sw * 0.18, y, sw * 0.82, y + sh * 0.12), 190, 350, fill=150, width=2)
    d.rectangle((sw * 0.47, sh * 0.05, sw * 0.53, sh), fill=175)
    if part not in ("胸部",):
        d.ellipse((sw * 0.35, sh * 0.35, sw * 0.65, sh * 0.6), fill=190)
    small = cv2.GaussianBlur(np.asarray(img), (0, 0), 2)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    # quantum noise, slightly correlated (detector blur), at half resolution
    noise = rng.normal(0, 6, ((h + 1) // 2, (w + 1) // 2)).astype(np.float32)
    noise = np.repeat(np.repeat(noise, 2, 0), 2, 1)[:h, :w]
    arr = img.astype(np.float32) + noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")


class DrExposurePanel(Screen):
    kind = "dr_exposure"
    template_id = "dr_exposure_panel"
    title = "DR exposure panel (LumenDR Acquisition)"
    program = "LumenDR Acquisition"
    screen = "Exposure"
    modality = "DX"
    width, height = W, H
    usual = (420, 170)
    families = (("noto_sans_sc", 14), ("wqy_zenhei", 15), ("noto_sans_mono_sc", 14))

    def make(self, rng: random.Random, index: int) -> Instance:
        name_zh, _ = names.person(rng)
        t = datetime(2025, 1, 6, 7, 30) + timedelta(days=rng.randint(0, 330), minutes=rng.randint(0, 13 * 60))
        part = rng.choice(list(BODY_PARTS))
        views, kv_rng, mas_rng = BODY_PARTS[part]
        steps = [m for m in MAS_STEPS if mas_rng[0] <= m <= mas_rng[1]]
        ei = int(round(EI_TARGET * math.exp(rng.gauss(0, 0.35))))
        ei = max(60, min(ei, 2400))
        di = 10 * math.log10(ei / EI_TARGET)
        di_s = f"{di:+.1f}"
        if di_s in ("+0.0", "-0.0"):
            di_s = "0.0"
        fields = {
            "patient_name": name_zh,
            "patient_id": names.patient_id(rng),
            "accession": "DX" + t.strftime("%y%m%d") + names.digits(rng, 4),
            "exam_time": t.strftime("%Y/%m/%d %H:%M"),
            "kv": str(rng.randint(*kv_rng)),
            "mas": f"{rng.choice(steps):.1f}",
            "ei": str(ei),
            "di": di_s,
            "body_part": part,
            "view": rng.choice(views),
        }
        extra = {
            "sex": rng.choice(["男", "女"]), "age": rng.randint(3, 92), "sid": rng.choice([100, 110, 115, 180]),
            "grid": rng.choice(["有", "无"]), "detector": rng.choice(["平板1 立式", "平板2 卧式", "无线平板"]),
            "battery": rng.randint(35, 100), "temp": f"{rng.uniform(28, 36):.1f}", "image_seed": rng.random(),
            "wl": rng.randint(1800, 2300), "ww": rng.randint(3600, 4400), "images": rng.randint(1, 4),
            "clock": (t + timedelta(minutes=rng.randint(0, 5))).strftime("%H:%M:%S"),
        }
        return Instance(self.kind, index, fields, {}, self.look(rng, index), extra, t.isoformat())

    def draw_frame(self, c: Canvas, active: str) -> None:
        """Title bar and workflow tabs (the program's own chrome)."""
        th = THEME
        c.rect((0, 0, W, H), fill=th.window)
        # app-drawn title bar with the product name
        c.rect((0, 0, W, 32), fill=th.title_bg)
        c.polygon([(12, 24), (20, 8), (28, 24)], fill=th.accent)
        c.text(36, 16, "LumenDR", CHROME_BOLD, th.accent, "lm")
        c.text(112, 16, "Acquisition", CHROME, th.title_fg, "lm")
        for i, sym in enumerate(["—", "□", "✕"]):
            c.text(W - 100 + i * 34, 16, sym, CHROME, th.title_fg, "mm")
        # workflow tabs
        c.rect((0, 32, W, 34), fill=th.menu_bg)
        for i, tab in enumerate(["患者列表", "采集", "图像处理", "打印", "系统"]):
            x = 6 + i * 66
            if tab == active:
                c.rect((x, 36, 62, 28), fill=th.accent)
                c.text(x + 31, 50, tab, CHROME, (255, 255, 255), "mm")
            else:
                c.text(x + 31, 50, tab, CHROME, th.menu_fg, "mm")

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = THEME
        f, ex = inst.fields, inst.extra
        body = Font(inst.look.family, inst.look.size)
        small = Font(inst.look.family, inst.look.size - 2)
        big = Font(inst.look.family, inst.look.size + 12)
        self.draw_frame(c, "采集")
        # patient banner (below the tabs)
        c.rect((0, 66, W, 44), fill=(30, 34, 40))
        c.value("patient_name", SLOTS["patient_name"][2], f["patient_name"], Font(inst.look.family, inst.look.size + 3), (255, 255, 255))
        for name in ("patient_id", "accession", "exam_time"):
            label, (lx, ly), box = SLOTS[name]
            c.text(lx, ly, label, small, th.label, "lm")
            c.value(name, box, f[name], body, th.text)
        c.text(W - 12, 87, f"{ex['sex']}  {ex['age']}岁", body, th.text, "rm")
        # image viewer
        vx, vy, vw, vh = 8, 116, 596, 540
        c.rect((vx, vy, vw, vh), fill=(0, 0, 0))
        xr = radiograph(c.S(vw - 40), c.S(vh - 40), f["body_part"], ex["image_seed"])
        c.paste(xr, vx + 20, vy + 20)
        c.text(vx + 10, vy + 14, f"WL {ex['wl']}  WW {ex['ww']}", small, (230, 230, 120), "lm")
        c.text(vx + vw - 10, vy + 14, f"图像 {ex['images']}/{ex['images']}", small, (230, 230, 120), "rm")
        c.text(vx + 40, vy + 60, "L" if f["view"] != "LAT" else "R", Font(inst.look.family, 22), (255, 255, 255), "mm")
        c.text(vx + 10, vy + vh - 14, "市第一人民医院 放射科", small, (200, 200, 200), "lm")
        # exposure panel
        c.rect((610, 116, 382, 540), fill=th.panel)
        c.rect(ANCHOR_HEADER, fill=(46, 52, 60))
        c.text(622, 132, "曝光参数  Exposure", CHROME_BOLD, th.accent, "lm")
        for name, (label, _, tile) in TILES.items():
            tx, ty, tw, tht = tile
            c.rect(tile, fill=th.field_bg, outline=th.field_border)
            c.text(tx + 10, ty + 16, label, body, th.label, "lm")
            sx, sy, sw, sh = TILE_SLOT
            colour = th.text
            if name == "di":
                v = float(f["di"])
                colour = (120, 220, 120) if abs(v) <= 1.0 else (250, 200, 80) if abs(v) <= 2.0 else (250, 110, 100)
            c.value(name, (tx + sx, ty + sy, sw, sh), f[name], big, colour, "right", pad=8)
        for name in ("body_part", "view"):
            label, (lx, ly), box = SLOTS[name]
            c.text(lx, ly, label, body, th.label, "lm")
            c.rect(box, fill=th.field_bg, outline=th.field_border)
            c.value(name, box, f[name], body, th.text)
        details = [("SID", f"{ex['sid']} cm"), ("滤线栅", ex["grid"]), ("探测器", ex["detector"]), ("EIt", str(EI_TARGET)), ("AEC", "中 ● ○ ●")]
        for i, (label, value) in enumerate(details):
            y = 436 + i * 28
            c.text(628, y, label, body, th.label, "lm")
            c.text(700, y, value, body, th.text, "lm")
        for i, (label, colour) in enumerate([("接受", (30, 130, 70)), ("重拍", (150, 110, 30)), ("拒绝", (150, 45, 45))]):
            bx = 620 + i * 124
            c.rect((bx, 604, 114, 40), fill=colour)
            c.text(bx + 57, 624, label, CHROME_BOLD, (255, 255, 255), "mm")
        chrome.statusbar(c, H - chrome.STATUS_H, W, [(200, "探测器 就绪"), (160, f"电量 {ex['battery']}%"), (180, f"温度 {ex['temp']}°C"), (0, ex["clock"])], th, CHROME)
        chrome.frame_border(c, W, H, th)

    def template(self) -> dict[str, Any]:
        def tile_slot(name: str) -> list[int]:
            tx, ty, _, _ = TILES[name][2]
            sx, sy, sw, sh = TILE_SLOT
            return [tx + sx, ty + sy, sw, sh]

        return {
            **self.template_head(),
            "anchors": [
                {"name": "title_bar", "box": list(ANCHOR_TITLE), "text": "LumenDR Acquisition"},
                {"name": "workflow_tabs", "box": list(ANCHOR_TABS)},
                {"name": "panel_header", "box": list(ANCHOR_HEADER), "text": "曝光参数 Exposure"},
            ],
            "fields": [
                {"name": "patient_name", "label": "姓名", "box": list(SLOTS["patient_name"][2]), "type": "text",
                 "regex": r"^[\u4e00-\u9fff]{2,4}$", "personal": True},
                {"name": "patient_id", "label": "ID", "box": list(SLOTS["patient_id"][2]), "type": "code",
                 "regex": r"^\d{10}$", "allowed": "0123456789", "confusions": True, "personal": True},
                {"name": "accession", "label": "检查号", "box": list(SLOTS["accession"][2]), "type": "code", "regex": r"^DX\d{10}$"},
                {"name": "exam_time", "label": "检查时间", "box": list(SLOTS["exam_time"][2]), "type": "datetime",
                 "format": "%Y/%m/%d %H:%M", "confusions": True},
                {"name": "kv", "label": "kV", "box": tile_slot("kv"), "type": "integer", "unit": "kV", "range": [40, 150], "confusions": True},
                {"name": "mas", "label": "mAs", "box": tile_slot("mas"), "type": "decimal", "unit": "mAs", "decimals": 1,
                 "range": [0.1, 500], "confusions": True},
                {"name": "ei", "label": "EI", "box": tile_slot("ei"), "type": "integer", "range": [1, 5000], "confusions": True},
                {"name": "di", "label": "DI", "box": tile_slot("di"), "type": "decimal", "decimals": 1, "regex": r"^[+-]?\d+\.\d$",
                 "range": [-10, 10], "confusions": True},
                {"name": "body_part", "label": "部位", "box": list(SLOTS["body_part"][2]), "type": "enum", "choices": list(BODY_PARTS)},
                {"name": "view", "label": "体位", "box": list(SLOTS["view"][2]), "type": "enum", "choices": ["PA", "AP", "LAT"]},
            ],
            "checks": [{"name": "exam_not_future", "kind": "not_future", "field": "exam_time"}],
            "identity": ["accession", "exam_time"],
            "confidence_floor": 0.8,
        }
