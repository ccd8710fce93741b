"""CT console dose report (in the manner of a Siemens/GE scanner's 'Dose Report' page).

Light grey console theme, a navigation column, a patient/exam header, a table of
series (1-8 rows) and the total DLP, which is the sum of the series DLPs as shown.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from samples import chrome, names
from samples.chrome import Theme
from samples.paint import Font
from samples.screens.base import Canvas, Instance, Screen

W, H = 1000, 700
THEME = Theme(
    window=(214, 219, 226), title_bg=(255, 255, 255), border=(70, 90, 120), menu_bg=(236, 239, 243),
    toolbar_bg=(224, 229, 236), panel=(246, 247, 249), text=(16, 24, 36), label=(60, 70, 84), accent=(0, 84, 147),
    grid=(184, 192, 204), stripe=(232, 238, 246), status_bg=(205, 211, 220), status_fg=(40, 48, 60),
    button=(228, 232, 238), field_bg=(255, 255, 255),
)
CHROME = Font("noto_sans_sc", 12)
CHROME_BOLD = Font("noto_sans_sc_bold", 14)
LOGO = Font("dejavu_sans_bold", 17)

TITLE = "Vistara CT 128 - Examination"
ANCHOR_TITLE = (4, 3, 250, 24)
ANCHOR_LOGO = (866, 56, 124, 28)
ANCHOR_HEADER = (180, 96, 160, 24)

# Header values: (label, label x, slot box)
SLOTS = {
    "patient_name": ("Patient Name", 190, (306, 130, 230, 24)),
    "patient_id": ("Patient ID", 560, (676, 130, 190, 24)),
    "accession": ("Accession No.", 190, (306, 158, 230, 24)),
    "exam_time": ("Exam Date/Time", 560, (676, 158, 190, 24)),
}
TABLE = (190, 252, 600, 36 + 8 * 24)  # x, y, w, h
TABLE_HEADER, ROW_H, MAX_ROWS = 36, 24, 8
# name -> (x, w) of the column (grid lines fall between columns), header text, unit, alignment
COLUMNS = [
    ("series_no", 0, 56, "No.", "", "right"),
    ("scan_type", 56, 124, "Scan", "", "left"),
    ("kv", 180, 60, "kV", "", "right"),
    ("mas", 240, 84, "mAs", "", "right"),
    ("ctdivol", 324, 100, "CTDIvol", "mGy", "right"),
    ("dlp", 424, 100, "DLP", "mGy·cm", "right"),
    ("phantom", 524, 76, "Phantom", "cm", "right"),
]
COL_INSET = 3  # column box = column span minus this on each side (keeps grid lines out)
TOTAL_SLOT = (604, 496, 120, 26)  # total DLP value (right-aligned under the DLP column)
SCAN_TYPES = ["Topogram", "Spiral", "Sequence", "Monitoring", "Dual Spiral"]

EXAMS = [  # protocol, body region, phantom, kV choices, mAs range, scan length cm range
    ("Head Routine", "Head", 16, [120], (250, 380), (12, 18)),
    ("Sinus", "Head", 16, [100, 120], (60, 120), (8, 12)),
    ("Thorax Routine", "Chest", 32, [100, 110, 120], (60, 180), (28, 38)),
    ("Thorax LowDose", "Chest", 32, [100, 120], (20, 45.5), (28, 38)),
    ("Abdomen Routine", "Abdomen", 32, [100, 120], (150, 320), (35, 48)),
    ("Thorax-Abdomen", "Chest/Abdomen", 32, [110, 120], (120, 260), (55, 72)),
    ("CTA Coronary", "Heart", 32, [70, 80, 100], (180, 450), (12, 16)),
    ("Spine Lumbar", "Spine", 32, [120, 130, 140], (180, 350), (18, 24)),
]


def _ctdi(kv: int, mas: float, phantom: int) -> float:
    per_mas = 0.16 if phantom == 16 else 0.068  # mGy per mAs at 120 kV
    return mas * per_mas * (kv / 120) ** 2.5


class CtDoseReport(Screen):
    kind = "ct_dose"
    template_id = "ct_dose_report"
    title = "CT dose report (Vistara CT 128)"
    program = "Vistara CT 128 Examination"
    screen = "Dose Report"
    modality = "CT"
    width, height = W, H
    usual = (460, 150)
    families = (("dejavu_sans", 13), ("noto_sans_sc", 14), ("dejavu_mono", 13), ("wqy_zenhei", 14))

    def make(self, rng: random.Random, index: int) -> Instance:
        name_zh, name_py = names.person(rng)
        t = datetime(2025, 1, 6, 7, 30) + timedelta(days=rng.randint(0, 330), minutes=rng.randint(0, 12 * 60), seconds=rng.randint(0, 59))
        protocol, region, phantom, kvs, mas_rng, len_rng = rng.choice(EXAMS)
        n = rng.choices(range(1, 9), weights=[2, 6, 5, 4, 3, 2, 2, 2])[0]
        rows: list[dict[str, str]] = []
        series = 1
        total = Decimal("0")
        for i in range(n):
            if i == 0 and n >= 2:
                kind, kv, mas = "Topogram", 120 if phantom == 32 else 100, rng.choice([35.0, 40.0, 50.0, 25.0])
                ctdi = _ctdi(kv, mas, phantom) * 0.05
                dlp = ctdi * rng.uniform(25, 60)
            elif i == 1 and n >= 4 and rng.random() < 0.5:
                kind, kv, mas = "Monitoring", 100, round(rng.uniform(20, 40), 1)
                ctdi = _ctdi(kv, mas, phantom) * rng.randint(6, 14)
                dlp = ctdi * 1.0
            else:
                kind = rng.choice(["Spiral", "Spiral", "Spiral", "Sequence", "Dual Spiral"]) if phantom == 32 else rng.choice(["Spiral", "Sequence"])
                kv = rng.choice(kvs)
                mas = round(rng.uniform(*mas_rng), 1)
                ctdi = _ctdi(kv, mas, phantom)
                length = rng.uniform(*len_rng)
                dlp = ctdi * (length if kind != "Sequence" else length * 0.8)
            ctdi_s = f"{max(ctdi, 0.01):.2f}"
            dlp_s = f"{max(dlp, 0.1):.2f}"
            total += Decimal(dlp_s)
            rows.append({"series_no": str(series), "scan_type": kind, "kv": str(kv), "mas": f"{mas:.1f}",
                         "ctdivol": ctdi_s, "dlp": dlp_s, "phantom": str(phantom)})
            series += rng.choice([1, 1, 1, 2])
        fields = {
            "patient_name": name_py,
            "patient_id": names.patient_id(rng),
            "accession": "CT" + t.strftime("%y%m%d") + names.digits(rng, 4),
            "exam_time": t.strftime("%d.%m.%Y %H:%M:%S"),
            "total_dlp": f"{total:.2f}",
        }
        extra = {
            "protocol": protocol, "region": region, "operator": rng.choice(["tech01", "tech02", "zhangl", "admin", "wangm"]),
            "kernel": rng.choice(["Br40", "Bv36", "Hr38", "Br64", "Qr40"]), "tube": rng.randint(8, 71),
            "total_mas": f"{sum(float(r['mas']) for r in rows):.1f}", "clock": (t + timedelta(minutes=rng.randint(3, 25))).strftime("%H:%M"),
            "birth": f"{rng.randint(1938, 2012)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            # the operator clicked a row: it is drawn selected (white on blue)
            "selected_row": rng.randrange(len(rows)) if rng.random() < 0.3 else None,
        }
        return Instance(self.kind, index, fields, {"series": rows}, self.look(rng, index), extra, t.isoformat())

    # -- drawing ---------------------------------------------------------------------------------
    def draw_chrome(self, c: Canvas, header: str, nav_selected: str, body_font: Font) -> None:
        th = THEME
        c.rect((0, 0, W, H), fill=th.window)
        chrome.titlebar(c, W, TITLE, th, CHROME, icon=(0, 84, 147))
        chrome.menubar(c, 30, W, ["Patient", "Transfer", "Examination", "Viewing", "Evaluation", "Options", "Help"], th, CHROME)
        chrome.toolbar(c, 52, W, 36, ["person", "folder", None, "play", "stop", None, "grid", "chart", "print", None, "gear", "search"], th,
                       [(0, 84, 147), (214, 140, 20), (40, 140, 60), (190, 40, 40)])
        # vendor logo: a swoosh and the name
        lx, ly, lw, lh = ANCHOR_LOGO
        c.rect(ANCHOR_LOGO, fill=(255, 255, 255), outline=th.grid)
        c.ellipse((lx + 6, ly + 6, 16, 16), fill=(0, 150, 170))
        c.ellipse((lx + 10, ly + 10, 8, 8), fill=(255, 255, 255))
        c.text(lx + 28, ly + lh / 2, "VISTARA", LOGO, (0, 84, 147), "lm")
        # navigation column
        c.rect((0, 88, 170, H - 88 - chrome.STATUS_H), fill=(200, 207, 217))
        for i, item in enumerate(["Patient Model", "Routine", "Scan", "Trigger", "Recon", "Dose Report", "Auto Tasks", "Archive"]):
            y = 98 + i * 32
            if item == nav_selected:
                c.rect((4, y, 162, 28), fill=th.accent)
                c.text(16, y + 14, item, CHROME, (255, 255, 255), "lm")
            else:
                c.text(16, y + 14, item, CHROME, th.text, "lm")
        # main panel and its header band
        c.rect((176, 90, W - 182, H - 96 - chrome.STATUS_H), fill=th.panel, outline=th.grid)
        c.rect((176, 94, W - 182, 28), fill=th.accent)
        c.text(188, 108, header, CHROME_BOLD, (255, 255, 255), "lm")
        c.text(W - 20, 108, "Page 1/1", CHROME, (220, 230, 240), "rm")

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = THEME
        f = inst.fields
        ex = inst.extra
        body = Font(inst.look.family, inst.look.size)
        small = Font(inst.look.family, inst.look.size - 1)
        self.draw_chrome(c, "Dose Report", "Dose Report", body)
        for name, (label, lx, box) in SLOTS.items():
            c.text(lx, box[1] + box[3] / 2, label, body, th.label, "lm")
            c.rect(box, fill=th.field_bg, outline=th.grid)
            c.value(name, box, f[name], body, th.text)
        for i, (label, value) in enumerate([("Protocol", ex["protocol"]), ("Body Region", ex["region"])]):
            c.text(190, 198 + i * 24, label, body, th.label, "lm")
            c.text(310, 198 + i * 24, value, body, th.text, "lm")
        for i, (label, value) in enumerate([("Operator", ex["operator"]), ("Kernel", ex["kernel"])]):
            c.text(560, 198 + i * 24, label, body, th.label, "lm")
            c.text(680, 198 + i * 24, value, body, th.text, "lm")
        # the series table
        tx, ty, tw, theight = TABLE
        c.rect((tx, ty, tw, TABLE_HEADER), fill=(222, 228, 238))
        c.rect(TABLE, outline=th.grid)
        for name, cx, cw, head, unit, align in COLUMNS:
            if cx:
                c.vline(tx + cx, ty, theight, th.grid)
            hx = tx + cx + (cw - COL_INSET - 4 if align == "right" else COL_INSET + 4)
            anchor = "r" if align == "right" else "l"
            c.text(hx, ty + (11 if unit else 18), head, body, th.text, anchor + "m")
            if unit:
                c.text(hx, ty + 27, unit, small, th.label, anchor + "m")
        c.hline(tx, ty + TABLE_HEADER, tw, th.grid)
        for r, row in enumerate(inst.tables["series"]):
            ry = ty + TABLE_HEADER + r * ROW_H
            selected = ex.get("selected_row") == r
            if selected or r % 2 == 1:
                c.rect((tx + 1, ry, tw - 2, ROW_H), fill=th.accent if selected else th.stripe)
                for _, cx, _, _, _, _ in COLUMNS[1:]:
                    c.vline(tx + cx, ry, ROW_H, th.grid)
            for name, cx, cw, _, _, align in COLUMNS:
                box = (tx + cx + COL_INSET, ry, cw - 2 * COL_INSET, ROW_H)
                c.value(f"series[{r}].{name}", box, row[name], body, (255, 255, 255) if selected else th.text, align, pad=4)
        # totals
        c.text(190, TOTAL_SLOT[1] + 13, "Total mAs", body, th.label, "lm")
        c.text(290, TOTAL_SLOT[1] + 13, ex["total_mas"], body, th.text, "lm")
        c.text(TOTAL_SLOT[0] - 12, TOTAL_SLOT[1] + 13, "Total DLP", Font(inst.look.family, inst.look.size), th.label, "rm")
        c.rect(TOTAL_SLOT, fill=(255, 252, 228), outline=th.grid)
        c.value("total_dlp", TOTAL_SLOT, f["total_dlp"], body, th.text, "right")
        c.text(TOTAL_SLOT[0] + TOTAL_SLOT[2] + 8, TOTAL_SLOT[1] + 13, "mGy·cm", body, th.label, "lm")
        # notification values (static), comments, buttons
        c.rect((190, 538, 600, 66), outline=th.grid)
        c.text(200, 552, "Dose Notification Values", small, th.accent, "lm")
        c.text(200, 572, "CTDIvol  50.00 mGy        DLP  1000.00 mGy·cm", small, th.label, "lm")
        c.text(200, 592, f"Patient birth date  {ex['birth']}        Kernel {ex['kernel']}", small, th.label, "lm")
        for i, label in enumerate(["Print", "Save as DICOM", "Close"]):
            chrome.button(c, (560 + i * 140, 620, 124, 28), label, th, CHROME, default=(i == 2))
        chrome.statusbar(c, H - chrome.STATUS_H, W, [(180, "Ready"), (200, f"Tube heat {ex['tube']} %"), (240, "Host: CTAWP91264"), (0, ex["clock"])], th, CHROME)
        chrome.frame_border(c, W, H, th)

    # -- template --------------------------------------------------------------------------------
    def template(self) -> dict[str, Any]:
        tx, ty, tw, theight = TABLE
        columns = []
        specs: dict[str, dict[str, Any]] = {
            "series_no": {"type": "integer", "range": [1, 99], "confusions": True},
            "scan_type": {"type": "enum", "choices": SCAN_TYPES},
            "kv": {"type": "integer", "unit": "kV", "range": [70, 140], "confusions": True},
            "mas": {"type": "decimal", "unit": "mAs", "decimals": 1, "range": [1, 1000], "confusions": True},
            "ctdivol": {"type": "decimal", "unit": "mGy", "decimals": 2, "range": [0.01, 200], "confusions": True},
            "dlp": {"type": "decimal", "unit": "mGy·cm", "decimals": 2, "range": [0.1, 10000], "confusions": True},
            "phantom": {"type": "enum", "unit": "cm", "choices": ["16", "32"]},
        }
        for name, cx, cw, _, _, _ in COLUMNS:
            columns.append({"name": name, "x": cx + COL_INSET, "w": cw - 2 * COL_INSET, **specs[name]})

        def slot(name: str) -> list[int]:
            return list(SLOTS[name][2])

        return {
            **self.template_head(),
            "anchors": [
                {"name": "title_bar", "box": list(ANCHOR_TITLE), "text": TITLE},
                {"name": "vendor_logo", "box": list(ANCHOR_LOGO)},
                {"name": "page_header", "box": list(ANCHOR_HEADER), "text": "Dose Report"},
            ],
            "fields": [
                {"name": "patient_name", "label": "Patient Name", "box": slot("patient_name"), "type": "text",
                 "regex": r"^[A-Z]+\^[A-Z]+$", "personal": True},
                {"name": "patient_id", "label": "Patient ID", "box": slot("patient_id"), "type": "code",
                 "regex": r"^\d{10}$", "allowed": "0123456789", "confusions": True, "personal": True},
                {"name": "accession", "label": "Accession No.", "box": slot("accession"), "type": "code",
                 "regex": r"^CT\d{10}$"},
                {"name": "exam_time", "label": "Exam Date/Time", "box": slot("exam_time"), "type": "datetime",
                 "format": "%d.%m.%Y %H:%M:%S", "confusions": True},
                {"name": "series", "kind": "table", "label": "Series", "box": [tx, ty, tw, theight],
                 "header": TABLE_HEADER, "row_height": ROW_H, "max_rows": MAX_ROWS, "min_rows": 1, "columns": columns},
                {"name": "total_dlp", "label": "Total DLP", "box": list(TOTAL_SLOT), "type": "decimal", "unit": "mGy·cm",
                 "decimals": 2, "range": [0.1, 20000], "confusions": True},
            ],
            "checks": [
                {"name": "total_dlp_is_sum", "kind": "sum", "total": "total_dlp", "of": "series.dlp", "tolerance": 0.05},
                {"name": "exam_not_future", "kind": "not_future", "field": "exam_time"},
            ],
            "identity": ["accession", "exam_time"],
            "confidence_floor": 0.8,
        }
