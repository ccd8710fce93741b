"""Refresh the translation files: `python -m qcedge.teaching_mode.i18n.build`.

1. pyside6-lupdate collects every self.tr() text of teaching_mode into qcedge_teach_zh_CN.ts;
2. the Chinese texts come from ZH_CN in teaching_mode/i18n/zh_CN.py (by English source text);
3. pyside6-lrelease compiles the .ts into the .qm that ships in the package.
Texts without a translation stay English in the interface and are listed here.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from qcedge.teaching_mode.i18n import HERE
from qcedge.teaching_mode.i18n.zh_CN import ZH_CN

PACKAGE = HERE.parent


def tool(name: str) -> str:
    found = shutil.which(f"pyside6-{name}") or str(Path(sys.executable).with_name(f"pyside6-{name}"))
    if not Path(found).exists():
        raise SystemExit(f"pyside6-{name} not found (it comes with PySide6-Essentials)")
    return found


def main() -> int:
    ts = HERE / "qcedge_teach_zh_CN.ts"
    sources = sorted(str(p) for p in PACKAGE.glob("*.py"))
    subprocess.run([tool("lupdate"), *sources, "-no-obsolete", "-locations", "none", "-ts", str(ts)], check=True,
                   capture_output=True)
    tree = ET.parse(ts)
    root = tree.getroot()
    root.set("language", "zh_CN")
    missing = []
    for message in root.iter("message"):
        source = message.findtext("source") or ""
        tr = message.find("translation")
        if message.get("numerus") == "yes":
            text = ZH_CN.get(source)
            for child in list(tr):
                tr.remove(child)
            form = ET.SubElement(tr, "numerusform")
            form.text = text or source
            if text:
                tr.attrib.pop("type", None)
            else:
                missing.append(source)
            continue
        if source in ZH_CN:
            tr.text = ZH_CN[source]
            tr.attrib.pop("type", None)
        else:
            missing.append(source)
    tree.write(ts, encoding="utf-8", xml_declaration=True)
    subprocess.run([tool("lrelease"), str(ts), "-qm", str(HERE / "qcedge_teach_zh_CN.qm")], check=True,
                   capture_output=True)
    for text in sorted(set(missing)):
        print(f"untranslated: {text!r}")
    print(f"wrote {ts.name} and qcedge_teach_zh_CN.qm ({len(set(missing))} untranslated)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
