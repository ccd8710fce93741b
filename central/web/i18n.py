"""The dashboard's words in English and Chinese (simplified); `t(lang, key)` falls back to English."""
from __future__ import annotations

LANGS = ("en", "zh")

_EN = {
    "title": "qcedge central", "overview": "Overview", "queue": "Review queue", "items": "Rectification",
    "users": "Users", "login": "Log in", "logout": "Log out", "user": "User", "password": "Password",
    "bad_login": "Unknown user or wrong password.", "from": "From", "to": "To", "show": "Show",
    "hospital": "Hospital", "modality": "Modality", "records": "Records", "needs_review": "Needs review",
    "needs_review_rate": "Needs-review rate", "by_hospital": "Records by hospital",
    "by_modality": "Records by modality", "rate_by_hospital": "Needs-review rate by hospital",
    "findings": "Findings", "rule": "Rule", "level": "Level", "count": "Count", "doses": "Doses",
    "protocol": "Protocol", "median": "median", "p75": "75th pct", "reference": "reference",
    "over_reference": "75th percentile above the reference level", "station": "Station", "record": "Record",
    "template": "Template", "status": "Status", "captured": "Captured", "empty": "Nothing here.",
    "field": "Field", "value": "Value", "text": "Text read", "valid": "Valid", "confidence": "Confidence",
    "crop": "Crop", "personal_hidden": "personal (hidden by the site's policy)", "checks": "Checks",
    "reasons": "Reasons", "corrections": "Corrections", "old_value": "Before", "new_value": "After",
    "reviewer": "Reviewer", "reason": "Reason", "at": "When", "verdict": "Verdict",
    "as_received": "As received", "current": "As corrected", "correct_field": "Correct a value",
    "correct_verdict": "Set the verdict", "save": "Save", "open_item": "Open an item", "scope": "Scope",
    "target": "Target", "problem": "Problem", "plan": "Plan", "due": "Due", "opened_by": "Opened by",
    "close": "Close", "outcome": "Outcome", "open": "open", "closed": "closed", "overdue": "overdue",
    "before": "before", "since": "since", "role": "Role", "site": "Hospital", "all_hospitals": "all hospitals",
    "not_found": "Not found (or not yours to see).", "forbidden": "Not allowed for your role.",
    "bad_request": "Bad request", "csrf": "The form expired; reload the page and try again.",
    "complete": "complete", "abnormal": "abnormal", "warn": "warn", "alert": "alert", "info": "info",
    "saved": "Saved.", "language": "中文", "filter": "Filter", "personal": "personal",
}
_ZH = {
    "title": "qcedge 质控中心", "overview": "总览", "queue": "待审核", "items": "整改", "users": "用户",
    "login": "登录", "logout": "退出", "user": "用户名", "password": "密码", "bad_login": "用户名或密码错误。",
    "from": "起", "to": "止", "show": "查看", "hospital": "医院", "modality": "设备类型", "records": "记录数",
    "needs_review": "需审核", "needs_review_rate": "需审核率", "by_hospital": "各医院记录数",
    "by_modality": "各设备类型记录数", "rate_by_hospital": "各医院需审核率", "findings": "质控发现",
    "rule": "规则", "level": "级别", "count": "次数", "doses": "剂量", "protocol": "协议/部位",
    "median": "中位数", "p75": "第75百分位", "reference": "参考水平",
    "over_reference": "第75百分位高于诊断参考水平", "station": "工作站", "record": "记录", "template": "模板",
    "status": "状态", "captured": "采集时间", "empty": "暂无内容。", "field": "字段", "value": "值",
    "text": "识别文本", "valid": "有效", "confidence": "置信度", "crop": "截图",
    "personal_hidden": "个人信息（按本院规定不显示）", "checks": "校验", "reasons": "原因",
    "corrections": "更正记录", "old_value": "更正前", "new_value": "更正后", "reviewer": "审核人",
    "reason": "理由", "at": "时间", "verdict": "结论", "as_received": "原始值", "current": "更正后",
    "correct_field": "更正数值", "correct_verdict": "给出结论", "save": "保存", "open_item": "新建整改项",
    "scope": "对象类型", "target": "对象", "problem": "问题", "plan": "整改计划", "due": "期限",
    "opened_by": "发起人", "close": "关闭", "outcome": "整改结果", "open": "进行中", "closed": "已关闭",
    "overdue": "已逾期", "before": "整改前", "since": "整改后", "role": "角色", "site": "医院",
    "all_hospitals": "全部医院", "not_found": "未找到（或无权查看）。", "forbidden": "您的角色无此权限。",
    "bad_request": "请求有误", "csrf": "表单已过期，请刷新页面后重试。", "saved": "已保存。",
    "language": "English", "filter": "筛选", "personal": "个人信息",
    "complete": "完整", "abnormal": "异常", "warn": "警告", "alert": "严重", "info": "提示",
}
_WORDS = {"en": _EN, "zh": _ZH}


def t(lang: str, key: str) -> str:
    return _WORDS.get(lang, _EN).get(key) or _EN.get(key, key)


def pick(lang: str | None, accept: str | None) -> str:
    """The session's language, else the browser's first of en/zh, else English."""
    if lang in LANGS:
        return lang
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "en"
