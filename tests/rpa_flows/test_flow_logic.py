"""Player logic on still screens (no display): waits with retries and timeouts, branches, checks,
variables, for_each, run log and failure screenshots. Input goes to a recording driver."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from qcedge.rpa_flows import parse_flow
from qcedge.rpa_flows.inputs import DryRunInput
from qcedge.rpa_flows.player import Player
from qcedge.rpa_flows.screen import StillScreen

ROOT = Path(__file__).resolve().parents[2]
RIS = ROOT / "samples" / "flows" / "ris"


def login_screen() -> np.ndarray:
    shot = np.full((1080, 1920, 3), 30, np.uint8)
    shot[40:840, 60:1160] = cv2.imread(str(RIS / "templates" / "ris_login.png"))
    return shot


def run(text: str, tmp_path: Path, **kw):
    flow = parse_flow(yaml.safe_load(text), tmp_path / "flow.yaml")
    inputs = DryRunInput()  # records what would be sent; this is a normal (not dry) run
    player = Player(flow, screen=StillScreen(login_screen()), inputs=inputs, monitor=None, windows=None,
                    log_dir=tmp_path / "log")
    return player.run(**kw), inputs.actions


HEAD = f"""
id: logic
settings: {{timeout: 0.3, poll: 0.05}}
screens:
  login: {{all: ["image:{RIS}/anchors/login_title.png"]}}
  form: {{all: ["image:{RIS}/anchors/form_title.png"]}}
steps:
"""


def test_branches_variables_and_loops(tmp_path):
    result, actions = run(HEAD + f"""
  - {{name: which, if: login, then: [{{set: {{where: login}}}}], else: [{{set: {{where: other}}}}]}}
  - name: each
    for_each: items
    as: item
    steps:
      - {{name: field, expect: login, type: "${{item.text}}",
          into: "template:{RIS}/templates/ris_login.yaml + field:user", clear: true}}
  - {{name: known, check: {{equals: ["${{where}}", login]}}}}
  - {{name: enter, hotkey: enter}}
""", tmp_path, variables={"items": [{"text": "a张"}, {"text": "<b>"}]})
    assert result.ok, result.message
    assert result.variables["where"] == "login"
    kinds = [(a.kind, a.detail.get("chars") or a.detail.get("keys")) for a in actions]
    clear = [("hotkey", ["end"]), ("hotkey", ["shift", "home"]), ("hotkey", ["delete"])]  # not ctrl+a (Tk: line start)
    # "a张": the key a, then 张 by paste (no key for it); "<b>": three keys in one chunk
    assert kinds == [("click", None), *clear, ("type", 1), ("type", 1), ("click", None), *clear, ("type", 3),
                     ("hotkey", ["enter"])]
    # the click lands in the middle of the template's user field, moved with the window
    box = [b for b in yaml.safe_load((RIS / "templates" / "ris_login.yaml").read_text())["fields"] if b["name"] == "user"][0]["box"]
    assert (actions[0].detail["x"], actions[0].detail["y"]) == (60 + box[0] + box[2] // 2, 40 + box[1] + box[3] // 2)


def test_wait_retries_then_fails_with_screenshots(tmp_path):
    result, actions = run(HEAD + """
  - {name: form please, wait: {appear: form, timeout: 0.2, retries: 2}}
  - {name: never, expect: login, hotkey: enter}
""", tmp_path)
    assert not result.ok and actions == []
    assert result.failed_step == "step 1 'form please'"
    assert "timed out after 0.2 s x 3 waiting for screen 'form' to appear" in result.message
    retries = [e for e in result.events if e["event"] == "wait_retry"]
    assert len(retries) == 2 and all(Path(e["screenshot"]).is_file() for e in retries)
    assert result.screenshot.is_file()


def test_wait_can_continue_and_remember_the_outcome(tmp_path):
    result, _ = run(HEAD + """
  - {name: optional, wait: {appear: form, timeout: 0.1, on_timeout: continue, save_as: had_form}}
  - {name: gone, wait: {vanish: form}}
  - {name: decide, check: {equals: ["${had_form}", "false"]}, message: "form should not have shown"}
""", tmp_path)
    assert result.ok, result.message
    assert result.variables["had_form"] is False


def test_failed_check_stops_with_message_but_logs_no_values(tmp_path):
    result, actions = run(HEAD + """
  - {name: id format, check: {matches: ["${pid}", "^P\\\\d{6}$"]}, message: "bad patient id ${pid}"}
  - {name: never, expect: login, hotkey: enter}
""", tmp_path, variables={"pid": "XY-secret"})
    assert not result.ok and actions == []
    assert result.message == "bad patient id XY-secret"  # shown to the person running it
    log_text = (tmp_path / "log" / "run.jsonl").read_text(encoding="utf-8")
    assert "XY-secret" not in log_text and "bad patient id ${pid}" in log_text


def test_input_step_without_expected_screen_is_refused(tmp_path):
    result, actions = run(HEAD + "  - {name: blind, hotkey: enter}\n", tmp_path)
    assert not result.ok and actions == []
    assert "no expected screen is known for this input step" in result.message


def test_expected_screen_missing_sends_nothing(tmp_path):
    result, actions = run(HEAD + "  - {name: on form, expect: form, type: hello}\n", tmp_path)
    assert not result.ok and actions == []
    assert result.message.startswith("expected screen 'form' is not on screen (image")
    assert result.screenshot.is_file()


def test_double_and_right_click_offsets_and_screenshots(tmp_path):
    result, actions = run(HEAD + f"""
  - {{name: dbl, expect: login, double_click: "image:{RIS}/anchors/login_button.png + offset:5,-3"}}
  - {{name: ctx, right_click: "image:{RIS}/anchors/login_title.png"}}
  - {{name: shot, screenshot: "after-${{who}}"}}
""", tmp_path, variables={"who": "clicks"})
    assert result.ok, result.message
    (dbl, ctx) = actions
    assert dbl.detail["clicks"] == 2 and dbl.detail["button"] == "left"
    assert ctx.detail["button"] == "right"
    button = cv2.imread(str(RIS / "anchors" / "login_button.png"))
    found = [e for e in result.events if e["event"] == "step_ok" and e["step"] == "step 1 'dbl'"][0]
    assert found["score"] > 0.99
    # offset from the centre of the found button
    bx, by = found["at"][0] - 5 - button.shape[1] // 2, found["at"][1] + 3 - button.shape[0] // 2
    assert login_screen()[by:by + button.shape[0], bx:bx + button.shape[1]].shape == button.shape
    assert float(np.abs(login_screen()[by:by + button.shape[0], bx:bx + button.shape[1]].astype(int) - button).mean()) < 2
    assert (tmp_path / "log" / "after-clicks.png").is_file()


def test_multi_image_targets_scales_and_variables_in_targets(tmp_path):
    """`{image: [a, b]}` (first that matches wins), `image:x + scales:1,1.25` and `image: ${name}.png`."""
    result, actions = run(HEAD + f"""
  - {{name: list, expect: login, click: {{image: ["{RIS}/anchors/form_title.png", "{RIS}/anchors/login_button.png"]}}}}
  - {{name: scaled, expect: login, click: "image:{RIS}/anchors/login_button.png + scales:1,1.25"}}
  - {{name: by var, expect: login, click: "image:{RIS}/anchors/${{anchor}}.png"}}
""", tmp_path, variables={"anchor": "login_button"})
    assert result.ok, result.message
    assert len(actions) == 3 and len({(a.detail["x"], a.detail["y"]) for a in actions}) == 1
    result, actions = run(HEAD + f"""
  - {{name: by var, expect: login, click: "image:{RIS}/anchors/${{anchor}}.png"}}
""", tmp_path / "2", variables={"anchor": "no_such"})
    assert not result.ok and actions == []
    assert "anchor image 'no_such.png' not found" in result.message


def test_region_relative_to_an_anchor_gives_the_field_box(tmp_path):
    button = cv2.imread(str(RIS / "anchors" / "login_button.png"))
    result, actions = run(HEAD + f"""
  - {{name: beside, expect: login, click: "image:{RIS}/anchors/login_button.png + offset:200,0 + size:120,30"}}
""", tmp_path)
    assert result.ok, result.message
    ok = [e for e in result.events if e["event"] == "step_ok" and e["step"] == "step 1 'beside'"][0]
    assert ok["how"].endswith("+ size")
    assert actions[0].detail["x"] - 200 > 0 and button is not None
