"""Labels seen on consoles, RIS and HIS screens, and the field each names (with its personal-data flag).

Pure data and string folding: no Qt, no OCR.
"""
from __future__ import annotations

import re

# One line a run of labels: field name, P (personal data: people and identifiers) or -, then the labels.
# Order matters: a longer label that holds no known label whole is named by the first known label in it.
_LABEL_TABLE = """
patient_name        P  姓名 患者姓名 病人姓名
patient_id          P  患者id 病人id 病历号
inpatient_no        P  住院号
outpatient_no       P  门诊号
id_card             P  身份证号
phone               P  电话 联系电话
address             P  地址
accession           -  检查号 登记号 检查单号
sex                 -  性别
age                 -  年龄
birth_date          P  出生日期
exam_date           -  检查日期
exam_time           -  检查时间
registered_at       -  登记时间
body_part           -  检查部位 部位
device              -  设备
procedure           -  检查项目
department          -  科室 申请科室
technologist        P  技师
physician           P  医生 申请医生
series              -  序列
kv                  -  管电压
ma                  -  管电流
exposure_time       -  曝光时间
dose                -  剂量
slice_thickness     -  层厚
protocol            -  协议
patient_id          P  患者编号 病人编号 患者号 病人号 病案号 档案号
card_no             P  就诊卡号 卡号
insurance_no        P  医保号 医保卡号
id_card             P  证件号 身份证
bed_no              P  床号
name_pinyin         P  英文名 拼音 姓名拼音
birth_date          P  出生年月
contact             P  联系人
technologist        P  检查技师 操作技师
physician           P  开单医生 送检医生
reporting_physician P  报告医生
reviewing_physician P  审核医生
registrar           P  登记员
operator            P  操作员
accession           -  检查流水号
image_no            -  影像号
request_no          -  申请单号
modality            -  检查类型 设备类型
device              -  检查设备
ward                -  病区
clinical_diagnosis  -  临床诊断
diagnosis           -  诊断
ethnicity           -  民族
height              -  身高
weight              -  体重
fee_type            -  费别
appointment_time    -  预约时间
status              -  检查状态 状态
method              -  检查方法
contrast            -  造影剂 对比剂
protocol            -  扫描协议
exposures           -  曝光次数
body_part           -  拍片部位
kv                  -  kv kvp
mas                 -  mas
ma                  -  ma
ms                  -  ms
ei                  -  ei
di                  -  di
sid                 -  sid
dap                 -  dap
ctdivol             -  ctdivol
dlp                 -  dlp
workstation         -  工作站
patient_name        P  patientname name
patient_id          P  patientid mrn
accession           -  accessionno. accessionno accession
birth_date          P  birthdate dateofbirth
operator            P  operator
technologist        P  technologist
physician           P  physician referringphysician
visit_type          -  就诊类型 病人类型
"""


def _known_labels(table: str) -> dict[str, tuple[str, bool]]:
    known: dict[str, tuple[str, bool]] = {}
    for line in table.strip().splitlines():
        name, personal, *labels = line.split()
        for label in labels:
            known[label] = (name, personal == "P")
    return known


# label (as folded by label_key) -> field name, personal flag
KNOWN_LABELS: dict[str, tuple[str, bool]] = _known_labels(_LABEL_TABLE)
PERSONAL_HINTS = ("name", "patient_id", "patient id", "patientid", "birth", "phone", "address", "mrn")

# OCR (and some programs) write traditional forms of label characters: fold them before looking labels up
_TRAD = str.maketrans("別號檢査時間醫師齡電話證類項備術診斷記錄單據費門診住院歲態託務職員編碼",
                      "别号检查时间医师龄电话证类项备术诊断记录单据费门诊住院岁态托务职员编码")


def label_key(text: str) -> str:
    """A label as looked up in KNOWN_LABELS: no bracketed unit, no colon, no spaces, lower case, simplified."""
    core = re.sub(r"[(（\[].*?[)）\]]", "", text).strip().rstrip(":：").strip()
    return core.lower().replace(" ", "").translate(_TRAD)
