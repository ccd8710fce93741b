"""The RIS program's fixed facts, shared by the app, the anchor generator and tests."""
from __future__ import annotations

LOGIN_USER = "tech01"
LOGIN_PASSWORD = "Pa$$w0rd<1>"

# (name, label) of the exam form fields, in screen order. patient_id is filled
# by the program from the search; the rest are typed.
EXAM_FIELDS: list[tuple[str, str]] = [
    ("patient_id", "患者ID"),
    ("patient_name", "患者姓名"),
    ("sex", "性别"),
    ("birth_date", "出生日期"),
    ("accession", "检查号"),
    ("modality", "检查类型"),
    ("body_part", "检查部位"),
    ("department", "申请科室"),
    ("physician", "申请医生"),
    ("diagnosis", "临床诊断"),
    ("kv", "管电压 kV"),
    ("mas", "电流时间积 mAs"),
    ("notes", "备注"),
]

WINDOW_GEOMETRY = (60, 40, 1100, 800)  # x, y, width, height on the display
