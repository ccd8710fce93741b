"""`qcedge teach` on the command line."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    e.update(env)
    return subprocess.run([sys.executable, "-m", "qcedge", "teach", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=120)


def test_bad_input_is_one_line_exit_2(tmp_path):
    p = run(str(tmp_path / "nope.png"))
    assert p.returncode == 2 and "no such file" in p.stderr and "Traceback" not in p.stderr
    p = run(str(tmp_path))  # a folder exists, but no display
    assert p.returncode == 2 and "no display" in p.stderr


def test_opens_a_template_headless_and_saves_a_screenshot(tmp_path, samples_dir):
    shot = tmp_path / "window.png"
    template = ROOT / "samples" / "templates" / "ct_dose_report.yaml"
    p = run("--no-live-ocr", "--lang", "zh_CN", "--screenshot", str(shot), str(template), QT_QPA_PLATFORM="offscreen")
    assert p.returncode == 0, p.stderr[-1500:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
