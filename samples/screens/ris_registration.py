"""A Chinese RIS registration form (an old Delphi/VB style client on Windows).

Patient group (姓名, 性别, 年龄, 患者ID), exam group (检查号, 检查项目, 科室, 技师, 登记时间)
and a clutter grid of today's registrations with other patients' names.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from samples import chrome, names
from samples.chrome import Theme
from samples.paint import Font
from samples.screens.base import Canvas, Instance, Screen

W, H = 960, 660
THEME = Theme(
    window=(236, 233, 216), title_bg=(255, 255, 255), border=(100, 100, 100), menu_bg=(241, 239, 226),
    toolbar_bg=(236, 233, 216), panel=(236, 233, 216), text=(0, 0, 0), label=(0, 0, 0), accent=(49, 106, 197),
    field_bg=(255, 255, 255), field_border=(127, 157, 185), grid=(172, 168, 153), stripe=(245, 245, 238),
    status_bg=(236, 233, 216), status_fg=(0, 0, 0), button=(236, 233, 216),
)
CHROME = Font("noto_sans_sc", 12)
GROUP = Font("noto_sans_sc", 13)  # group captions: the form's fixed caption font
TITLE = "影像科信息系统 RIS v3.2 - [检查登记]"
ANCHOR_TITLE = (4, 3, 260, 24)
ANCHOR_TOOLBAR = (6, 54, 236, 50)
ANCHOR_FORM = (10, 108, 190, 52)  # the active tab and the first group caption
TABS = ["检查登记", "预约管理", "患者查询", "费用确认", "统计"]
PATIENT_BOX = (12, 148, 936, 104)
EXAM_BOX = (12, 272, 936, 104)
# name -> (label, label x, slot box)
SLOTS = {
    "name": ("姓名", 28, (78, 166, 110, 26)),
    "sex": ("性别", 206, (250, 166, 56, 26)),
    "age": ("年龄", 340, (384, 166, 56, 26)),
    "patient_id": ("患者ID", 480, (540, 166, 150, 26)),
    "accession": ("检查号", 28, (90, 290, 150, 26)),
    "exam": ("检查项目", 262, (336, 290, 262, 26)),
    "department": ("科室", 620, (664, 290, 132, 26)),
    "technologist": ("技师", 28, (90, 330, 96, 26)),
    "registered": ("登记时间", 262, (336, 330, 176, 26)),
}
EXAMS = [
    ("CT", "胸部CT平扫"), ("CT", "头颅CT平扫"), ("CT", "上腹部增强CT"), ("CT", "冠状动脉CTA"), ("CT", "腰椎CT平扫"),
    ("CT", "全腹部+盆腔增强CT"), ("MR", "头颅MR平扫+DWI"), ("MR", "腰椎MR平扫"), ("MR", "膝关节MR平扫"),
    ("DX", "胸部正侧位DR"), ("DX", "腰椎正侧位DR"), ("DX", "膝关节正侧位"), ("DX", "骨盆正位DR"),
]
DEPARTMENTS = ["呼吸内科", "急诊科", "骨科", "神经内科", "心血管内科", "消化内科", "体检中心", "普外科", "肿瘤科", "儿科", "泌尿外科"]
STATES = ["已登记", "检查中", "已检查", "已报告"]


class RisRegistration(Screen):
    kind = "ris_registration"
    template_id = "ris_registration"
    title = "RIS registration form (影像科信息系统 RIS v3.2)"
    program = "影像科信息系统 RIS v3.2"
    screen = "检查登记"
    modality = None
    width, height = W, H
    usual = (300, 120)
    families = (("noto_sans_sc", 14), ("wqy_zenhei", 14), ("noto_serif_sc", 14), ("noto_sans_sc", 13))

    def make(self, rng: random.Random, index: int) -> Instance:
        t = datetime(2025, 1, 6, 7, 30) + timedelta(days=rng.randint(0, 330), minutes=rng.randint(0, 11 * 60), seconds=rng.randint(0, 59))
        modality, exam = rng.choice(EXAMS)
        name_zh, _ = names.person(rng)
        tech_zh, _ = names.person(rng)
        fields = {
            "name": name_zh,
            "sex": rng.choice(["男", "女"]),
            "age": str(rng.randint(1, 95)),
            "patient_id": names.patient_id(rng),
            "accession": modality + t.strftime("%y%m%d") + names.digits(rng, 4),
            "exam": exam,
            "department": rng.choice(DEPARTMENTS),
            "technologist": tech_zh,
            "registered": t.strftime("%Y-%m-%d %H:%M:%S"),
        }
        others = []
        for i in range(rng.randint(3, 6)):
            m, e = rng.choice(EXAMS)
            others.append([str(i + 1), m + t.strftime("%y%m%d") + names.digits(rng, 4), names.person(rng)[0],
                           rng.choice(["男", "女"]), str(rng.randint(1, 95)), e, rng.choice(STATES)])
        extra = {
            "birth": f"{t.year - int(fields['age'])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "phone": "1" + rng.choice("35789") + names.digits(rng, 9),
            "idcard": "3301" + "*" * 10 + names.digits(rng, 4),
            "others": others, "operator": names.person(rng)[0], "desk": rng.randint(1, 4),
            "insurance": rng.choice(["城镇职工医保", "城乡居民医保", "自费", "新农合"]),
            "clock": (t + timedelta(minutes=rng.randint(0, 3))).strftime("%Y-%m-%d %H:%M"),
        }
        return Instance(self.kind, index, fields, {}, self.look(rng, index), extra, t.isoformat())

    def draw_frame(self, c: Canvas, title: str, active_tab: str) -> None:
        th = THEME
        c.rect((0, 0, W, H), fill=th.window)
        chrome.titlebar(c, W, title, th, CHROME, icon=(180, 40, 40))
        chrome.menubar(c, 30, W, ["系统(S)", "登记(R)", "查询(Q)", "报告(P)", "统计(T)", "窗口(W)", "帮助(H)"], th, CHROME)
        # toolbar: big buttons with captions
        c.rect((0, 52, W, 54), fill=th.toolbar_bg)
        c.hline(0, 105, W, th.grid)
        kinds = [("doc", "新建"), ("save", "保存"), ("person", "读卡"), ("print", "打印条码"), ("search", "查询"), ("stop", "退出")]
        for i, (kind, cap) in enumerate(kinds):
            x = 8 + i * 58 + (14 if i >= 5 else 0)
            chrome.icon(c, x + 17, 56, 24, kind, [(49, 106, 197), (60, 140, 60), (180, 110, 30), (90, 90, 90), (49, 106, 197), (190, 40, 40)][i])
            c.text(x + 29, 92, cap, CHROME, th.text, "mm")
        # tab strip
        x = 10
        for tab in TABS:
            tw = 88
            if tab == active_tab:
                c.rect((x, 110, tw, 28), fill=(252, 252, 250), outline=th.grid)
                c.hline(x + 1, 110, tw - 2, (230, 139, 44))
                c.hline(x + 1, 111, tw - 2, (255, 200, 60))
            else:
                c.rect((x + 2, 114, tw - 4, 24), fill=(228, 225, 208), outline=th.grid)
            c.text(x + tw / 2, 124 + (0 if tab == active_tab else 2), tab, CHROME, th.text, "mm")
            x += tw
        c.rect((6, 137, W - 12, H - 137 - 30), fill=(252, 252, 250), outline=th.grid)

    def draw(self, c: Canvas, inst: Instance) -> None:
        th = THEME
        f, ex = inst.fields, inst.extra
        body = Font(inst.look.family, inst.look.size)
        self.draw_frame(c, TITLE, "检查登记")
        chrome.groupbox(c, PATIENT_BOX, "患者基本信息", th, GROUP)
        chrome.groupbox(c, EXAM_BOX, "检查信息", th, GROUP)
        for name, (label, lx, box) in SLOTS.items():
            c.text(lx, box[1] + box[3] / 2, label, body, th.label, "lm")
            chrome.editbox(c, box, th)
            c.value(name, box, f[name], body, th.text)
            if name == "sex":  # a combo box: the drop-down button sits right of the value box
                bx = box[0] + box[2]
                c.rect((bx, box[1], 18, box[3]), fill=(225, 232, 245), outline=th.field_border)
                c.polygon([(bx + 5, box[1] + 11), (bx + 13, box[1] + 11), (bx + 9, box[1] + 16)], fill=(40, 40, 40))
            if name == "age":
                c.text(box[0] + box[2] + 6, box[1] + 13, "岁", body, th.label, "lm")
        # clutter in the groups: other patient details and exam details that are not fields
        for label, lx, vx, wv, value in [("出生日期", 28, 96, 110, ex["birth"]), ("联系电话", 232, 300, 130, ex["phone"]),
                                         ("身份证号", 452, 520, 190, ex["idcard"]), ("费别", 716, 756, 170, ex["insurance"])]:
            c.text(lx, 219, label, body, th.label, "lm")
            c.rect((vx, 206, wv, 26), fill=(244, 244, 240), outline=th.grid)
            c.text(vx + 5, 219, value, body, (70, 70, 70), "lm")
        c.text(620, 343, "检查类型", body, th.label, "lm")
        c.rect((690, 330, 106, 26), fill=(244, 244, 240), outline=th.grid)
        c.text(695, 343, f["accession"][:2], body, (70, 70, 70), "lm")
        chrome.button(c, (820, 288, 112, 30), "登记(F2)", th, body, default=True)
        chrome.button(c, (820, 328, 112, 30), "清空(F3)", th, body)
        # today's registrations
        gx, gy, gw = 12, 396, 936
        c.text(gx, gy, "今日登记列表", body, th.accent, "lm")
        cols = [("序号", 44), ("检查号", 140), ("姓名", 90), ("性别", 50), ("年龄", 50), ("检查项目", 200), ("状态", 80)]
        c.rect((gx, gy + 12, gw, 26), fill=(225, 222, 205), outline=th.grid)
        x = gx
        for head, cw in cols:
            c.text(x + 6, gy + 25, head, body, th.text, "lm")
            x += cw
            c.vline(x, gy + 12, 26 + 6 * 24, th.grid)
        c.rect((gx, gy + 38, gw, 6 * 24), fill=(255, 255, 255), outline=th.grid)
        for r, row in enumerate(ex["others"]):
            ry = gy + 38 + r * 24
            if r == 0:
                c.rect((gx + 1, ry, gw - 2, 24), fill=(49, 106, 197))
            x = gx
            for (head, cw), cell in zip(cols, row):
                c.text(x + 6, ry + 12, cell, body, (255, 255, 255) if r == 0 else th.text, "lm")
                x += cw
        chrome.statusbar(c, H - chrome.STATUS_H, W, [(200, f"操作员: {ex['operator']}"), (120, f"登记台{ex['desk']}"), (180, "数据库: 已连接"), (0, ex["clock"])], th, CHROME)
        chrome.frame_border(c, W, H, th)

    def template(self) -> dict[str, Any]:
        def slot(name: str) -> list[int]:
            return list(SLOTS[name][2])

        return {
            **self.template_head(),
            "anchors": [
                {"name": "title_bar", "box": list(ANCHOR_TITLE), "text": TITLE},
                {"name": "toolbar", "box": list(ANCHOR_TOOLBAR)},
                {"name": "form_header", "box": list(ANCHOR_FORM)},
            ],
            "fields": [
                {"name": "name", "label": "姓名", "box": slot("name"), "type": "text", "regex": r"^[\u4e00-\u9fff]{2,4}$", "personal": True},
                {"name": "sex", "label": "性别", "box": slot("sex"), "type": "enum", "choices": ["男", "女"]},
                {"name": "age", "label": "年龄", "box": slot("age"), "type": "integer", "unit": "岁", "range": [0, 120], "confusions": True},
                {"name": "patient_id", "label": "患者ID", "box": slot("patient_id"), "type": "code", "regex": r"^\d{10}$",
                 "allowed": "0123456789", "confusions": True, "personal": True},
                {"name": "accession", "label": "检查号", "box": slot("accession"), "type": "code", "regex": r"^(CT|MR|DX)\d{10}$"},
                {"name": "exam", "label": "检查项目", "box": slot("exam"), "type": "text"},
                {"name": "department", "label": "科室", "box": slot("department"), "type": "text"},
                {"name": "technologist", "label": "技师", "box": slot("technologist"), "type": "text", "regex": r"^[\u4e00-\u9fff]{2,4}$"},
                {"name": "registered", "label": "登记时间", "box": slot("registered"), "type": "datetime", "format": "%Y-%m-%d %H:%M:%S",
                 "confusions": True},
            ],
            "checks": [{"name": "registered_not_future", "kind": "not_future", "field": "registered"}],
            "identity": ["accession", "registered"],
            "confidence_floor": 0.8,
        }
