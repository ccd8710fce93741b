"""Foreign screens: none of them may match a sample template.

- unrelated: a bare desktop, a file explorer, a spreadsheet of dose figures
- near misses from other vendors: another CT's dose summary, another DR console (light theme)
- near misses from the same programs: the CT's scan protocol page, the DR worklist, the RIS
  appointment tab (same title bar and toolbar as the taught screen, different page)
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from samples import chrome, names
from samples.chrome import Theme
from samples.paint import Font
from samples.screens import ct_dose, dr_exposure, ris_registration
from samples.screens.base import Canvas, Instance, Screen
from samples.screens.ct_dose import CtDoseReport
from samples.screens.dr_exposure import DrExposurePanel
from samples.screens.ris_registration import RisRegistration

FOREIGN_VARIANTS = ("clean", "hdmi")


def _time(rng: random.Random) -> datetime:
    return datetime(2025, 1, 6, 7, 30) + timedelta(days=rng.randint(0, 330), minutes=rng.randint(0, 12 * 60), seconds=rng.randint(0, 59))


class _Foreign(Screen):
    template_id = None
    variants = FOREIGN_VARIANTS
    families = (("noto_sans_sc", 13), ("wqy_zenhei", 13))

    def make(self, rng: random.Random, index: int) -> Instance:
        t = _time(rng)
        return Instance(self.kind, index, {}, {}, self.look(rng, index), {"rng": rng.random(), "t": t}, t.isoformat())


class ForeignDesktop(_Foreign):
    """Nothing open: the bare desktop."""

    kind = "foreign_desktop"
    category = "unrelated"
    width = height = 0


class FileExplorer(_Foreign):
    kind = "foreign_explorer"
    category = "unrelated"
    width, height = 900, 580
    usual = (380, 200)

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = Theme()
        rng = random.Random(inst.extra["rng"])
        body = Font(inst.look.family, inst.look.size)
        c.rect((0, 0, self.width, self.height), fill=(255, 255, 255))
        chrome.titlebar(c, self.width, "D:\\DICOM\\导出", th, Font("noto_sans_sc", 12), icon=(240, 200, 80))
        chrome.menubar(c, 30, self.width, ["文件", "主页", "共享", "查看"], th, Font("noto_sans_sc", 12))
        c.rect((0, 52, self.width, 30), fill=(245, 246, 247))
        c.rect((90, 56, 560, 22), fill=(255, 255, 255), outline=th.grid)
        c.text(98, 67, "此电脑 > 数据 (D:) > DICOM > 导出", body, th.text, "lm")
        c.rect((0, 82, 190, self.height - 82), fill=(248, 248, 248))
        for i, item in enumerate(["快速访问", "桌面", "下载", "文档", "此电脑", "数据 (D:)", "网络"]):
            c.text(24, 100 + i * 26, item, body, th.text, "lm")
        for j, head in enumerate(["名称", "修改日期", "类型", "大小"]):
            c.text(206 + [0, 300, 480, 600][j], 96, head, body, (90, 90, 90), "lm")
        t = inst.extra["t"]
        for i in range(rng.randint(6, 16)):
            y = 122 + i * 26
            acc = rng.choice(["CT", "DX", "MR"]) + t.strftime("%y%m%d") + names.digits(rng, 4)
            chrome.icon(c, 206, y - 10, 20, "folder", (240, 200, 80))
            c.text(232, y, acc, body, th.text, "lm")
            c.text(506, y, (t - timedelta(minutes=rng.randint(0, 600))).strftime("%Y/%m/%d %H:%M"), body, (90, 90, 90), "lm")
            c.text(686, y, "文件夹", body, (90, 90, 90), "lm")
        chrome.frame_border(c, self.width, self.height, th)


class Spreadsheet(_Foreign):
    """A spreadsheet of dose figures: the same words and numbers as the CT page, another program."""

    kind = "foreign_spreadsheet"
    category = "near_miss"
    width, height = 1100, 720
    usual = (300, 110)

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = Theme(title_bg=(33, 115, 70), title_fg=(255, 255, 255), border=(33, 115, 70))
        rng = random.Random(inst.extra["rng"])
        body = Font(inst.look.family, inst.look.size)
        c.rect((0, 0, self.width, self.height), fill=(255, 255, 255))
        chrome.titlebar(c, self.width, "CT剂量登记 2025.xlsx - Excel", th, Font("noto_sans_sc", 12), icon=(255, 255, 255))
        c.rect((0, 30, self.width, 90), fill=(243, 243, 243))
        for i, tab in enumerate(["文件", "开始", "插入", "页面布局", "公式", "数据", "审阅", "视图"]):
            c.text(16 + i * 64, 44, tab, Font("noto_sans_sc", 12), th.text, "lm")
        chrome.toolbar(c, 58, self.width, 40, ["save", "print", None, "grid", "chart", None, "search"], Theme(toolbar_bg=(243, 243, 243)), [(33, 115, 70)])
        c.rect((0, 100, self.width, 22), fill=(255, 255, 255), outline=(210, 210, 210))
        c.text(10, 111, "fx", body, (90, 90, 90), "lm")
        cols = ["检查号", "检查时间", "序列", "kV", "mAs", "CTDIvol", "DLP", "Total DLP", "备注"]
        widths = [130, 160, 60, 60, 80, 90, 90, 100, 200]
        x0, y0, rh = 40, 126, 22
        x = x0
        for j, (h, w) in enumerate(zip(cols, widths)):
            c.rect((x, y0, w, rh), fill=(240, 240, 240), outline=(210, 210, 210))
            c.text(x + w / 2, y0 + 11, chr(65 + j), body, (80, 80, 80), "mm")
            x += w
        t = inst.extra["t"]
        for r in range(24):
            y = y0 + rh * (r + 1)
            c.rect((0, y, x0, rh), fill=(240, 240, 240), outline=(210, 210, 210))
            c.text(x0 / 2, y + 11, str(r + 1), body, (80, 80, 80), "mm")
            x = x0
            if r == 0:
                row = cols
            else:
                ctdi = rng.uniform(3, 30)
                dlp = ctdi * rng.uniform(10, 45)
                row = ["CT" + t.strftime("%y%m%d") + names.digits(rng, 4), (t - timedelta(hours=r)).strftime("%Y-%m-%d %H:%M"),
                       str(rng.randint(1, 6)), str(rng.choice([100, 120])), f"{rng.uniform(80, 300):.1f}", f"{ctdi:.2f}", f"{dlp:.2f}",
                       f"{dlp * rng.uniform(1, 1.3):.2f}", rng.choice(["", "", "复查", "低剂量"])]
            for j, w in enumerate(widths):
                c.rect((x, y, w, rh), outline=(225, 225, 225))
                c.text(x + 4, y + 11, row[j], body, th.text, "lm")
                x += w
        chrome.statusbar(c, self.height - chrome.STATUS_H, self.width, [(200, "就绪"), (0, "100%")], Theme(status_bg=(243, 243, 243)), Font("noto_sans_sc", 12))
        chrome.frame_border(c, self.width, self.height, th)


class OrbisCtDose(_Foreign):
    """Another vendor's CT dose page: similar words, different program and layout."""

    kind = "foreign_ct_other_vendor"
    category = "near_miss"
    width, height = 1000, 700
    usual = (460, 150)
    families = (("dejavu_sans", 13), ("noto_sans_sc", 13))

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = Theme(window=(12, 12, 14), title_bg=(30, 30, 34), title_fg=(230, 230, 230), text=(236, 236, 236), label=(160, 170, 180),
                   accent=(230, 120, 0), grid=(70, 70, 76), status_bg=(30, 30, 34), status_fg=(200, 200, 200))
        rng = random.Random(inst.extra["rng"])
        body = Font(inst.look.family, inst.look.size)
        w, h = self.width, self.height
        c.rect((0, 0, w, h), fill=th.window)
        chrome.titlebar(c, w, "Orbis CT  Dose Summary", th, Font("dejavu_sans", 12), icon=(230, 120, 0))
        c.text(20, 56, "Dose Report", Font("dejavu_sans_bold", 18), th.accent, "lm")
        t = inst.extra["t"]
        info = [("Patient", names.person(rng)[1]), ("Patient ID", names.patient_id(rng)), ("Accession #", "CT" + t.strftime("%y%m%d") + names.digits(rng, 4)),
                ("Exam Date", t.strftime("%b %d %Y %H:%M"))]
        for i, (k, v) in enumerate(info):
            c.text(20 + (i % 2) * 480, 96 + (i // 2) * 26, k + ":", body, th.label, "lm")
            c.text(140 + (i % 2) * 480, 96 + (i // 2) * 26, v, body, th.text, "lm")
        heads = ["Series", "Type", "Scan Range (mm)", "CTDIvol (mGy)", "DLP (mGy-cm)", "Phantom"]
        xs = [20, 110, 230, 420, 580, 740]
        y = 170
        c.hline(20, y + 14, 940, th.grid)
        for x, hd in zip(xs, heads):
            c.text(x, y, hd, body, th.accent, "lm")
        total = 0.0
        for r in range(rng.randint(2, 7)):
            y = 200 + r * 26
            ctdi = rng.uniform(2, 40)
            dlp = ctdi * rng.uniform(10, 40)
            total += dlp
            row = [str(r + 1), rng.choice(["Scout", "Helical", "Axial"]), f"I{rng.randint(0, 200)}.000-S{rng.randint(0, 300)}.000", f"{ctdi:.2f}", f"{dlp:.2f}", rng.choice(["Body 32", "Head 16"])]
            for x, v in zip(xs, row):
                c.text(x, y, v, body, th.text, "lm")
        c.text(420, 420, "Total Exam DLP:", body, th.label, "lm")
        c.text(580, 420, f"{total:.2f}", body, th.text, "lm")
        c.rect((20, 620, 140, 34), fill=(60, 60, 66))
        c.text(90, 637, "Accept", body, th.text, "mm")
        chrome.statusbar(c, h - chrome.STATUS_H, w, [(300, "Orbis CT  Ready"), (0, t.strftime("%H:%M"))], th, Font("dejavu_sans", 11))


class VistaraScanProtocol(CtDoseReport):
    """The taught CT program on another page (Routine / Scan Protocol): same title bar and logo."""

    kind = "foreign_ct_same_program"
    template_id = None
    category = "near_miss"
    variants = FOREIGN_VARIANTS

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = ct_dose.THEME
        body = Font(inst.look.family, inst.look.size)
        self.draw_chrome(c, "Scan Protocol", "Routine", body)
        c.text(190, 142, "Protocol", body, th.label, "lm")
        c.rect((306, 130, 300, 24), fill=th.field_bg, outline=th.grid)
        c.text(312, 142, inst.extra["protocol"], body, th.text, "lm")
        heads = ["Range", "kV", "Eff. mAs", "CTDIvol", "Slice", "Pitch", "Rot. time", "Delay"]
        xs = [190, 330, 390, 480, 570, 640, 710, 800]
        c.rect((190, 176, 790, 26), fill=(222, 228, 238))
        for x, hd in zip(xs, heads):
            c.text(x + 6, 189, hd, body, th.text, "lm")
        for r, row in enumerate(inst.tables["series"]):
            y = 214 + r * 26
            vals = [row["scan_type"], row["kv"], row["mas"], row["ctdivol"], "1.0", "0.9", "0.5", "2 s"]
            for x, v in zip(xs, vals):
                c.text(x + 6, y, v, body, th.text, "lm")
        for i, label in enumerate(["Load", "Save Protocol", "Close"]):
            chrome.button(c, (560 + i * 140, 620, 124, 28), label, th, ct_dose.CHROME)
        chrome.statusbar(c, self.height - chrome.STATUS_H, self.width, [(180, "Ready"), (200, f"Tube heat {inst.extra['tube']} %"), (0, inst.extra["clock"])], th, ct_dose.CHROME)
        chrome.frame_border(c, self.width, self.height, th)


class LumenDrWorklist(DrExposurePanel):
    """The taught DR program on its worklist tab: same title bar, no exposure panel."""

    kind = "foreign_dr_same_program"
    template_id = None
    category = "near_miss"
    variants = FOREIGN_VARIANTS

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = dr_exposure.THEME
        body = Font(inst.look.family, inst.look.size)
        rng = random.Random(inst.extra["image_seed"])
        self.draw_frame(c, "患者列表")
        c.rect((8, 76, 984, 30), fill=(46, 52, 60))
        xs = [16, 130, 260, 330, 400, 560, 700, 840]
        for x, hd in zip(xs, ["姓名", "患者ID", "性别", "年龄", "检查号", "部位", "体位", "状态"]):
            c.text(x, 91, hd, body, th.label, "lm")
        t = datetime.fromisoformat(inst.time)
        for r in range(rng.randint(5, 14)):
            y = 124 + r * 30
            if r == 0:
                c.rect((8, y - 14, 984, 28), fill=(0, 100, 140))
            part = rng.choice(list(dr_exposure.BODY_PARTS))
            row = [names.person(rng)[0], names.patient_id(rng), rng.choice(["男", "女"]), f"{rng.randint(3, 90)}岁",
                   "DX" + t.strftime("%y%m%d") + names.digits(rng, 4), part, rng.choice(dr_exposure.BODY_PARTS[part][0]), rng.choice(["待检查", "已完成", "进行中"])]
            for x, v in zip(xs, row):
                c.text(x, y, v, body, th.text, "lm")
        chrome.statusbar(c, self.height - chrome.STATUS_H, self.width, [(200, "探测器 就绪"), (0, inst.extra["clock"])], th, dr_exposure.CHROME)
        chrome.frame_border(c, self.width, self.height, th)


class ClarixDr(_Foreign):
    """Another vendor's DR console, light theme, the same parameter names."""

    kind = "foreign_dr_other_vendor"
    category = "near_miss"
    width, height = 1000, 690
    usual = (420, 170)
    families = (("noto_sans_sc", 14), ("wqy_zenhei", 14))

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = Theme(title_bg=(0, 90, 160), title_fg=(255, 255, 255), border=(0, 90, 160))
        rng = random.Random(inst.extra["rng"])
        body = Font(inst.look.family, inst.look.size)
        w, h = self.width, self.height
        c.rect((0, 0, w, h), fill=(246, 248, 250))
        chrome.titlebar(c, w, "Clarix DR Console - 曝光", th, Font("noto_sans_sc", 12), icon=(255, 255, 255))
        c.rect((10, 40, 560, 600), fill=(20, 20, 20))
        c.paste(dr_exposure.radiograph(c.S(520), c.S(560), "胸部", inst.extra["rng"]), 30, 60)
        part = rng.choice(list(dr_exposure.BODY_PARTS))
        values = [("kV", str(rng.randint(50, 125))), ("mAs", f"{rng.choice(dr_exposure.MAS_STEPS):.1f}"), ("EI", str(rng.randint(150, 900))),
                  ("DI", f"{rng.uniform(-2, 2):+.1f}"), ("部位", part), ("体位", rng.choice(["PA", "AP", "LAT"]))]
        c.text(590, 60, "Exposure 曝光参数", Font("noto_sans_sc_bold", 15), (0, 90, 160), "lm")
        for i, (k, v) in enumerate(values):
            y = 100 + i * 44
            c.text(600, y, k, body, (90, 90, 90), "lm")
            c.text(700, y, v, Font(inst.look.family, inst.look.size + 6), (10, 10, 10), "lm")
            c.hline(590, y + 20, 380, (220, 224, 230))
        chrome.button(c, (600, 600, 120, 34), "完成检查", th, body, default=True)
        chrome.frame_border(c, w, h, th)


class RisAppointment(RisRegistration):
    """The taught RIS on its appointment tab: same program, same toolbar, other form."""

    kind = "foreign_ris_same_program"
    template_id = None
    category = "near_miss"
    variants = FOREIGN_VARIANTS

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = ris_registration.THEME
        f = inst.fields
        body = Font(inst.look.family, inst.look.size)
        self.draw_frame(c, "影像科信息系统 RIS v3.2 - [预约管理]", "预约管理")
        chrome.groupbox(c, (12, 148, 936, 104), "预约信息", th, ris_registration.GROUP)
        for label, lx, box, value in [("姓名", 28, (78, 166, 110, 26), f["name"]), ("患者ID", 220, (280, 166, 150, 26), f["patient_id"]),
                                      ("预约项目", 460, (534, 166, 262, 26), f["exam"]), ("预约时间", 28, (100, 206, 176, 26), f["registered"]),
                                      ("科室", 300, (344, 206, 132, 26), f["department"])]:
            c.text(lx, box[1] + 13, label, body, th.label, "lm")
            chrome.editbox(c, box, th)
            c.text(box[0] + 5, box[1] + 13, value, body, th.text, "lm")
        c.text(12, 280, "预约日历", body, th.accent, "lm")
        for d in range(7):
            for wk in range(5):
                c.rect((12 + d * 60, 296 + wk * 40, 58, 38), fill=(255, 255, 255), outline=th.grid)
                c.text(18 + d * 60, 306 + wk * 40, str(wk * 7 + d + 1), body, th.text, "lm")
        chrome.statusbar(c, self.height - chrome.STATUS_H, self.width, [(200, f"操作员: {inst.extra['operator']}"), (0, inst.extra["clock"])], th, ris_registration.CHROME)
        chrome.frame_border(c, self.width, self.height, th)


FOREIGN = [ForeignDesktop, FileExplorer, Spreadsheet, OrbisCtDose, VistaraScanProtocol, LumenDrWorklist, ClarixDr, RisAppointment]
