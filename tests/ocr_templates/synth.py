"""A synthetic console screen (PIL + real fonts) with its template and ground truth.

Independent of samples/: a layout, fonts and colours of our own, so the tests
and the benchmark also see a screen the engine was not tuned on.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFont

CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"

REF_SIZE = (1920, 1080)
WINDOW = (200, 120)        # window top-left on the reference desktop
WIN_SIZE = (1100, 720)
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴刚", "徐丽", "孙浩"]
PARTS = ["头部", "胸部", "腹部", "盆腔"]

# value fields: name, label, (x, y, w, h) in window coordinates, spec
FIELDS = [
    ("patient_name", "患者姓名", (140, 96, 160, 26), {"type": "text", "personal": True, "regex": "^[\u4e00-\u9fff]{2,4}$"}),
    ("patient_id", "患者编号", (140, 130, 160, 26), {"type": "code", "personal": True, "regex": "^P\\d{7}$"}),
    ("accession", "检查号", (470, 96, 180, 26), {"type": "code", "regex": "^A\\d{9}$"}),
    ("exam_date", "检查日期", (470, 130, 180, 26), {"type": "date"}),
    ("exam_time", "检查时间", (800, 96, 120, 26), {"type": "time"}),
    ("body_part", "部位", (800, 130, 120, 26), {"type": "enum", "choices": PARTS}),
    ("kv", "kV", (140, 200, 90, 26), {"type": "integer", "range": [60, 150], "unit": "kV"}),
    ("mas", "mAs", (140, 234, 90, 26), {"type": "integer", "range": [1, 1000], "unit": "mAs"}),
    ("ctdi", "CTDIvol", (470, 200, 130, 26), {"type": "decimal", "decimals": 2, "range": [0, 200], "unit": "mGy"}),
    ("dlp_total", "总DLP", (470, 234, 150, 26), {"type": "decimal", "decimals": 1, "range": [0, 20000], "unit": "mGy·cm"}),
    ("ei", "EI", (800, 200, 100, 28), {"type": "integer", "range": [0, 5000]}),  # light on dark
]
TABLE = {"name": "series", "box": (40, 330, 760, 250), "header": 34, "row_height": 30,
         "columns": [("no", 0, 60, {"type": "integer", "range": [1, 99]}),
                     ("kv", 60, 120, {"type": "integer", "range": [60, 150]}),
                     ("mas", 180, 140, {"type": "integer", "range": [1, 1000]}),
                     ("ctdi", 320, 200, {"type": "decimal", "decimals": 2}),
                     ("dlp", 520, 240, {"type": "decimal", "decimals": 1})]}
HEADERS = ["序号", "kV", "mAs", "CTDIvol(mGy)", "DLP(mGy·cm)"]
ANCHORS = [("title", (8, 4, 330, 24)), ("patient_heading", (20, 62, 120, 24)),
           ("table_header", (40, 330, 760, 34)), ("dose_heading", (20, 168, 140, 24))]


def _font(path: str, size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, max(6, round(size)))


@dataclass
class Screen:
    values: dict[str, object]
    texts: dict[str, str]
    rows: list[dict[str, object]] = field(default_factory=list)


def random_screen(seed: int) -> Screen:
    r = random.Random(seed)
    n = r.randint(2, 5)
    rows = []
    for i in range(n):
        kv = r.choice([80, 100, 120, 140])
        mas = r.randint(20, 450)
        ctdi = round(r.uniform(1, 60), 2)
        dlp = round(r.uniform(10, 1500), 1)
        rows.append({"no": i + 1, "kv": kv, "mas": mas, "ctdi": ctdi, "dlp": dlp})
    total = round(sum(x["dlp"] for x in rows), 1)
    date = dt.date(2024, 1, 1) + dt.timedelta(days=r.randint(0, 600))
    time = dt.time(r.randint(7, 20), r.randint(0, 59), r.randint(0, 59))
    values = {
        "patient_name": r.choice(NAMES), "patient_id": f"P{r.randint(0, 9999999):07d}",
        "accession": f"A{r.randint(0, 999999999):09d}", "exam_date": date, "exam_time": time,
        "body_part": r.choice(PARTS), "kv": rows[0]["kv"], "mas": rows[0]["mas"], "ctdi": rows[0]["ctdi"],
        "dlp_total": total, "ei": r.randint(100, 2500),
    }
    texts = {
        "patient_name": values["patient_name"], "patient_id": values["patient_id"], "accession": values["accession"],
        "exam_date": date.isoformat(), "exam_time": time.strftime("%H:%M:%S"), "body_part": values["body_part"],
        "kv": f"{values['kv']} kV", "mas": f"{values['mas']} mAs", "ctdi": f"{values['ctdi']:.2f} mGy",
        "dlp_total": f"{total:.1f} mGy·cm", "ei": str(values["ei"]),
    }
    return Screen(values, texts, rows)


def render(screen: Screen, scale: float = 1.0, pos: tuple[int, int] = WINDOW,
           desktop: tuple[int, int] = REF_SIZE, seed: int = 0) -> np.ndarray:
    """Render the desktop with the window (UI scaled by `scale`) at `pos`; BGR."""
    W, H = desktop
    img = Image.new("RGB", (W, H), (58, 110, 165))
    d = ImageDraw.Draw(img)
    r = random.Random(seed)
    # desktop clutter: icons with captions
    for i in range(8):
        x, y = 20, 20 + i * 110
        d.rectangle([x, y, x + 48, y + 48], fill=(r.randint(80, 240), r.randint(80, 240), r.randint(80, 240)))
        d.text((x - 4, y + 54), r.choice(["回收站", "文档", "PACS", "Notes", "工作站"]), font=_font(CJK, 12), fill="white")
    s = scale
    ox, oy = pos

    def P(x: float, y: float) -> tuple[int, int]:
        return (round(ox + x * s), round(oy + y * s))

    ww, wh = WIN_SIZE
    d.rectangle([P(0, 0), P(ww, wh)], fill=(236, 236, 232), outline=(90, 90, 90))
    d.rectangle([P(0, 0), P(ww, 32)], fill=(32, 60, 110))
    d.text(P(12, 5), "DoseView 3.2 — 剂量报告 Dose Report", font=_font(CJK, 15 * s), fill="white")
    d.text(P(1040, 5), "—  ✕", font=_font(CJK, 15 * s), fill="white")
    d.rectangle([P(0, 32), P(ww, 56)], fill=(222, 222, 218))
    for i, m in enumerate(["文件(F)", "编辑(E)", "视图(V)", "工具(T)", "帮助(H)"]):
        d.text(P(12 + i * 80, 36), m, font=_font(CJK, 13 * s), fill=(30, 30, 30))
    d.text(P(24, 64), "患者信息 Patient", font=_font(CJK_BOLD, 14 * s), fill=(20, 40, 90))
    d.text(P(24, 170), "剂量参数 Dose", font=_font(CJK_BOLD, 14 * s), fill=(20, 40, 90))
    fnt = _font(CJK, 15 * s)
    for name, label, (x, y, w, h), spec in FIELDS:
        d.text(P(x - 110, y + 3), label, font=_font(CJK, 14 * s), fill=(70, 70, 70))
        if name == "ei":
            d.rectangle([P(x, y), P(x + w, y + h)], fill=(40, 44, 52))
            d.text(P(x + 8, y + 4), screen.texts[name], font=_font(SANS, 15 * s), fill=(240, 240, 120))
        else:
            d.rectangle([P(x, y), P(x + w, y + h)], fill="white", outline=(160, 160, 160))
            d.text(P(x + 6, y + 4), screen.texts[name], font=fnt, fill=(0, 0, 0))
    # table with grid
    tx, ty, tw, th = TABLE["box"]
    d.rectangle([P(tx, ty), P(tx + tw, ty + TABLE["header"])], fill=(210, 218, 230))
    for (cname, cx, cw, _), head in zip(TABLE["columns"], HEADERS):
        d.text(P(tx + cx + 8, ty + 8), head, font=_font(CJK, 14 * s), fill=(20, 20, 20))
    rh = TABLE["row_height"]
    for i, row in enumerate(screen.rows):
        y = ty + TABLE["header"] + i * rh
        for cname, cx, cw, spec in TABLE["columns"]:
            v = row[cname]
            txt = f"{v:.2f}" if cname == "ctdi" else f"{v:.1f}" if cname == "dlp" else str(v)
            d.text(P(tx + cx + 8, y + 6), txt, font=_font(MONO if cname in ("ctdi", "dlp") else SANS, 14 * s), fill=(0, 0, 0))
    n = len(screen.rows)
    for i in range(n + 1):
        y = ty + TABLE["header"] + i * rh
        d.line([P(tx, y), P(tx + tw, y)], fill=(150, 150, 150), width=max(1, round(s)))
    for cname, cx, cw, _ in TABLE["columns"]:
        d.line([P(tx + cx, ty), P(tx + cx, ty + TABLE["header"] + n * rh)], fill=(150, 150, 150), width=max(1, round(s)))
    d.line([P(tx + tw, ty), P(tx + tw, ty + TABLE["header"] + n * rh)], fill=(150, 150, 150), width=max(1, round(s)))
    d.text(P(24, 680), f"Status: ready   用户: tech{r.randint(1, 9)}   {r.randint(10, 99)} frames", font=_font(CJK, 12 * s), fill=(90, 90, 90))
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


def hdmi(image: np.ndarray, out: tuple[int, int] = (1920, 1080), blur: float = 0.8, quality: int = 60) -> np.ndarray:
    """What a capture card delivers: resized into `out` with letterbox/pillarbox, blurred, JPEG."""
    h, w = image.shape[:2]
    k = min(out[0] / w, out[1] / h)
    nw, nh = round(w * k), round(h * k)
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    frame = np.zeros((out[1], out[0], 3), np.uint8)
    x0, y0 = (out[0] - nw) // 2, (out[1] - nh) // 2
    frame[y0:y0 + nh, x0:x0 + nw] = small
    frame = cv2.GaussianBlur(frame, (0, 0), blur)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def template_dict(image_name: str = "synth_dose.png") -> dict:
    ox, oy = WINDOW

    def B(b: tuple[int, int, int, int]) -> list[int]:
        return [b[0] + ox, b[1] + oy, b[2], b[3]]

    fields = []
    for name, label, box, spec in FIELDS:
        f = {"name": name, "label": label, "box": B(box)}
        f.update({k: v for k, v in spec.items()})
        fields.append(f)
    tx, ty, tw, th = TABLE["box"]
    fields.append({"name": "series", "kind": "table", "label": "序列", "box": B(TABLE["box"]),
                   "header": TABLE["header"], "row_height": TABLE["row_height"], "max_rows": 7, "min_rows": 1,
                   "columns": [{"name": c, "x": x, "w": w, **spec} for c, x, w, spec in TABLE["columns"]]})
    return {
        "schema": "qcedge.template/1", "id": "synth-dose", "version": "1", "title": "DoseView dose report (synthetic)",
        "program": "DoseView 3.2", "screen": "Dose report", "modality": "CT",
        "reference": {"image": image_name, "width": REF_SIZE[0], "height": REF_SIZE[1]},
        "anchors": [{"name": n, "box": B(b)} for n, b in ANCHORS],
        "fields": fields,
        "checks": [{"name": "total_dlp", "kind": "sum", "total": "dlp_total", "of": "series.dlp", "tolerance": 0.15},
                   {"name": "date_not_future", "kind": "not_future", "field": "exam_date"}],
        "identity": ["accession", "exam_date"],
        "confidence_floor": 0.8,
    }


def write_template(folder: Path, seed: int = 1) -> Path:
    """Reference PNG + YAML template in `folder`; returns the YAML path."""
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "synth_dose.png"), render(random_screen(seed), seed=seed))
    path = folder / "synth_dose.yaml"
    path.write_text(yaml.safe_dump(template_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


VARIANTS = {
    "clean": lambda s, seed: render(s, seed=seed),
    "moved": lambda s, seed: render(s, pos=(60 + seed * 37 % 500, 40 + seed * 53 % 300), seed=seed),
    "scaled125": lambda s, seed: render(s, scale=1.25, pos=(40 + seed * 13 % 200, 30 + seed * 7 % 100), seed=seed),
    "hdmi": lambda s, seed: hdmi(render(s, desktop=(1600, 1200), pos=(150 + seed * 11 % 300, 200), seed=seed)),
}


# --- a second, unrelated screen: a registration form (a foreign screen for the dose template) ---
FORM_WINDOW = (300, 160)
FORM_FIELDS = [("name", "姓名", (120, 80, 160, 28)), ("sex", "性别", (120, 120, 80, 28)),
               ("age", "年龄", (120, 160, 80, 28)), ("exam", "检查项目", (120, 200, 260, 28))]
FORM_ANCHORS = [("form_title", (10, 6, 260, 24)), ("form_heading", (20, 44, 200, 26))]


FORM_TITLE = "RIS 放射登记 Registration"


def render_form(values: dict[str, str], pos: tuple[int, int] = FORM_WINDOW, desktop: tuple[int, int] = REF_SIZE,
                title: str = FORM_TITLE) -> np.ndarray:
    W, H = desktop
    img = Image.new("RGB", (W, H), (30, 90, 60))
    d = ImageDraw.Draw(img)
    ox, oy = pos
    d.rectangle([ox, oy, ox + 700, oy + 420], fill=(250, 248, 240), outline=(60, 60, 60))
    d.rectangle([ox, oy, ox + 700, oy + 34], fill=(120, 30, 30))
    d.text((ox + 12, oy + 6), title, font=_font(CJK, 16), fill="white")
    d.text((ox + 24, oy + 46), "登记信息 / 患者资料", font=_font(CJK_BOLD, 16), fill=(120, 30, 30))
    for name, label, (x, y, w, h) in FORM_FIELDS:
        d.text((ox + x - 100, oy + y + 4), label, font=_font(WQY, 15), fill=(40, 40, 40))
        d.rectangle([ox + x, oy + y, ox + x + w, oy + y + h], fill="white", outline=(120, 120, 120))
        d.text((ox + x + 6, oy + y + 5), values.get(name, ""), font=_font(WQY, 16), fill=(0, 0, 0))
    return cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)


def write_form_template(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "synth_form.png"), render_form({"name": "王芳", "sex": "女", "age": "45", "exam": "胸部CT平扫"}))
    ox, oy = FORM_WINDOW
    data = {
        "schema": "qcedge.template/1", "id": "synth-form", "version": "2", "title": "RIS registration (synthetic)",
        "reference": {"image": "synth_form.png", "width": REF_SIZE[0], "height": REF_SIZE[1]},
        "anchors": [{"name": n, "box": [x + ox, y + oy, w, h], **({"text": FORM_TITLE} if n == "form_title" else {})}
                    for n, (x, y, w, h) in FORM_ANCHORS],
        "fields": [
            {"name": "name", "label": "姓名", "box": [ox + 120, oy + 80, 160, 28], "personal": True},
            {"name": "sex", "label": "性别", "box": [ox + 120, oy + 120, 80, 28], "type": "enum", "choices": ["男", "女"]},
            {"name": "age", "label": "年龄", "box": [ox + 120, oy + 160, 80, 28], "type": "integer", "range": [0, 120]},
            {"name": "exam", "label": "检查项目", "box": [ox + 120, oy + 200, 260, 28]},
        ],
    }
    path = folder / "synth_form.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def plain_desktop(seed: int = 3) -> np.ndarray:
    """A desktop with icons and no application window."""
    img = render(random_screen(seed), pos=(4000, 4000), seed=seed)  # window placed off-screen
    return img
