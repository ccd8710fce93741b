"""The import direction of ARCHITECTURE.md: a lower package never imports a higher one."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "capture": set(),
    "ocr_templates": set(),
    "qc_client": set(),
    "connectors": {"qc_client"},
    "rpa_flows": {"ocr_templates", "capture"},
    "teaching_mode": {"rpa_flows", "ocr_templates", "capture"},
    "central": {"qc_client"},
}
OURS = set(ALLOWED) | {"qcedge", "samples", "benchmarks"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downwards(package):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in _imports(path)
        if (top := module.split(".")[0]) in OURS and top != package and top not in ALLOWED[package]
    ]
    assert not wrong, "imports against ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_ocr_templates_works_without_qt_display_or_network():
    """ocr_templates is shared by the daemon, GUI, flows and benchmarks: no Qt, no screen, no sockets."""
    heavy = {"PySide6", "pyautogui", "mss", "zmq", "httpx", "pynetdicom"}
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "ocr_templates").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in heavy
    ]
    assert not wrong, "\n".join(wrong)


def test_central_runs_without_capture_ocr_rpa_or_qt():
    """A central site installs no OpenCV, Qt or OCR models: central imports none of them (qcedge -> central)."""
    heavy = {"cv2", "PySide6", "rapidocr", "onnxruntime", "tesserocr", "pyautogui", "mss", "Xlib", "numpy"}
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "central").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in heavy
    ]
    assert not wrong, "\n".join(wrong)
    # and importing it for real pulls none of them in (qc_client's modules included)
    import subprocess
    import sys

    code = ("import sys, central.stores, central.pg_store, central.pg_local, central.stats, central.api, "
            "central.review, qc_client.receiver; "
            f"print(sorted(m for m in {sorted(heavy)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr[-2000:]
