"""Flows in the teaching window: recorded steps (unit) and record + replay on a real X display."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from qcedge.teaching_mode.recorder import InputEvent, StepBuilder, unique_patch
from tests.conftest import ROOT

DRIVER = Path(__file__).with_name("flow_e2e_driver.py")


def screen_with_buttons() -> np.ndarray:
    """A grey screen with two identical 'OK' buttons and one 'Cancel' button."""
    img = np.full((600, 800, 3), 210, np.uint8)
    for x, y, text in ((100, 100, "OK"), (500, 100, "OK"), (300, 400, "Cancel")):
        cv2.rectangle(img, (x, y), (x + 90, y + 30), (90, 60, 30), -1)
        cv2.putText(img, text, (x + 10, y + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    cv2.putText(img, "Confirm registration", (80, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 0, 0), 2)
    return img


def test_click_patch_grows_until_unique():
    img = screen_with_buttons()
    box, second = unique_patch(img, 145, 115)  # the left OK: its button alone is ambiguous
    x, y, w, h = box
    assert x <= 145 < x + w and y <= 115 < y + h
    assert second < 0.9
    res = cv2.matchTemplate(img, img[y:y + h, x:x + w], cv2.TM_CCOEFF_NORMED)
    assert (res > 0.95).sum() <= 4, "the patch still matches elsewhere"
    assert w > 90 or h > 30, "an OK button alone is not unique; the patch must take in context"


def test_events_become_steps(tmp_path):
    img = screen_with_buttons()
    b = StepBuilder(tmp_path, prefix="t")
    ev = lambda **k: InputEvent(t=k.pop("t", 0.0), screen=img if k.get("kind") == "click" else None, **k)  # noqa: E731
    b.add(ev(kind="click", x=345, y=415, t=1.0))
    for ch in "CT12":
        b.add(ev(kind="key", char=ch, t=2.0))
    b.add(ev(kind="key", key="backspace", t=2.1))
    b.add(ev(kind="key", char="9", t=2.2))
    b.add(ev(kind="key", key="s", modifiers=frozenset({"ctrl"}), t=3.0))
    b.add(ev(kind="key", key="enter", t=3.1))
    b.add(ev(kind="click", x=145, y=115, t=4.0))
    b.add(ev(kind="click", x=145, y=115, t=4.2))  # a double click
    b.add(ev(kind="click", x=345, y=415, button=3, t=6.0))
    actions = [next(k for k in s if k not in ("name", "expect")) for s in b.steps]
    assert actions == ["click", "type", "hotkey", "hotkey", "double_click", "right_click"]
    assert b.steps[1]["type"] == "CT19"
    assert b.steps[2]["hotkey"] == "ctrl+s" and b.steps[3]["hotkey"] == "enter"
    click = b.steps[0]["click"]
    patch = cv2.imread(str(tmp_path / click["image"]))
    assert patch is not None and b.steps[0]["expect"] == {"all": [{"image": click["image"]}]}
    # the patch is found where the click was, and the offset leads back to the clicked point
    found = cv2.minMaxLoc(cv2.matchTemplate(img, patch, cv2.TM_CCOEFF_NORMED))[3]
    off = click.get("offset", [0, 0])
    assert (found[0] + patch.shape[1] // 2 + off[0], found[1] + patch.shape[0] // 2 + off[1]) == (345, 415)
    # the recorded flow is a valid rpa_flows flow
    from qcedge.rpa_flows.loader import parse_flow

    flow = parse_flow({"schema": "qcedge.flow/1", "id": "rec", "steps": b.steps}, tmp_path / "rec.yaml")
    assert len(flow.steps) == 6


@pytest.mark.display
@pytest.mark.slow
def test_record_then_replay_step_by_step_after_the_window_moved(xvfb, tmp_path):
    pytest.importorskip("qcedge.rpa_flows.player")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.name, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(DRIVER), str(tmp_path)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=150)
    assert proc.returncode == 0, f"flow driver failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    recorded = report["recorded"]
    assert [next(k for k in s if k not in ("name", "expect")) for s in recorded] == ["click", "type", "click"]
    assert recorded[1]["type"] == "CT123"
    assert all("point" not in s.get("click", {}) for s in recorded), "clicks must be anchored to images, not coordinates"
    # replayed one step at a time, each highlighted, on the moved window
    assert [r["current"] for r in report["replay"]] == [1, 2, 3]
    assert report["confirmed"] == "confirmed CT123"
    bx, by, bw, bh = report["replay"][2]["marker"]
    mx, my = report["moved"]["button"]
    assert bx <= mx <= bx + bw and by <= my <= by + bh, "the highlighted target is not the moved Confirm button"
    saved = Path(report["flow"]).read_text(encoding="utf-8")
    assert "qcedge.flow/1" in saved and "anchors/" in saved
