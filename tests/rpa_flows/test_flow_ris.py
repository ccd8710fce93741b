"""Flows against the simulated RIS program on a real Xvfb display.

The program writes what it saved and every key/mouse press it received to
files; the X server's idle time shows whether any input event was sent at all.
Neither depends on the player telling the truth.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from qcedge.rpa_flows import load_flow
from samples.ris_app.fields import LOGIN_PASSWORD

from flow_helpers import FLOWS, ROOT, events_of, load_records, make_player, x_idle_seconds

pytestmark = pytest.mark.display
SAMPLE = FLOWS / "ris_enter_exams.yaml"
ANCHORS = FLOWS / "ris" / "anchors"


def test_cli_enters_records_exactly_and_closes_the_uninvited_popups(ris, tmp_path):
    records = load_records()
    app = ris("--popup-at", "login:1,search:2,form:1,save:3")
    rec_file = tmp_path / "records.jsonl"
    rec_file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "qcedge", "flow", "run", str(SAMPLE), "--records", str(rec_file),
         "--var", f"password={LOGIN_PASSWORD}", "--log", str(tmp_path / "logs")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "flow 'ris_enter_exams' run OK" in proc.stdout
    assert "paused" not in proc.stdout  # nobody touched the workstation: no false alarms

    saved = app.saved()
    assert [s["fields"] for s in saved] == records  # every field, Chinese and ASCII, exactly
    assert [s["record_no"] for s in saved] == ["R0001", "R0002", "R0003"]

    journal = [json.loads(line) for line in app.events.read_text(encoding="utf-8").splitlines()]
    assert sum(e["event"] == "popup" for e in journal) == 4
    run_log = next((tmp_path / "logs").glob("ris_enter_exams-*/run.jsonl"))
    events = events_of(run_log)
    taken = [e for e in events if e["event"] == "branch" and e["branch"] == "then" and "popup" in e["step"]]
    assert len(taken) == 4  # each popup closed by the flow's branch
    assert events[-1]["event"] == "run_end" and events[-1]["ok"] is True
    assert all("seconds" in e for e in events if e["event"] == "step_ok")
    # the run log holds no patient data and no password
    text = run_log.read_text(encoding="utf-8")
    for r in records:
        for key in ("patient_id", "patient_name", "notes"):
            assert r[key] not in text
    assert LOGIN_PASSWORD not in text


def test_program_closed_stops_before_input_and_sends_nothing(ris, tmp_path):
    flow_file = tmp_path / "enter.yaml"
    flow_file.write_text(f"""
id: closed_program
settings: {{timeout: 2}}
screens:
  search: {{all: ["image:{ANCHORS}/search_title.png"]}}
steps:
  - {{name: patient id, expect: search, type: P000999, into: "image:{ANCHORS}/search_button.png + offset:-250,0"}}
  - {{name: search, hotkey: enter}}
""", encoding="utf-8")
    app = ris("--show", "search")
    app.stop()  # the program is gone
    flow = load_flow(flow_file)
    player = make_player(flow, tmp_path)
    idle_before, t0 = x_idle_seconds(), time.monotonic()
    try:
        result = player.run()
    finally:
        player.close()
    elapsed = time.monotonic() - t0
    assert not result.ok
    assert result.failed_step == "step 1 'patient id'"
    assert "expected screen 'search' is not on screen" in result.message
    assert "stopped without sending input" in result.message
    assert result.screenshot is not None and result.screenshot.is_file()
    # no input event of any kind reached the X server during the run
    assert x_idle_seconds() >= idle_before + elapsed - 0.2


def test_window_in_front_of_the_field_stops_before_input(ris, blocker, tmp_path):
    app = ris("--show", "search")
    box = app.ready["widgets"]["search_id"]
    blocker(f"{box[2] + 40}x{box[3] + 20}+{box[0] - 20}+{box[1] - 4}")  # covers the field, not the title anchor above it
    flow = load_flow(SAMPLE)
    player = make_player(flow, tmp_path)
    idle_before, t0 = x_idle_seconds(), time.monotonic()
    try:
        result = player.run(variables={"password": "x"}, records=load_records()[:1])
    finally:
        player.close()
    elapsed = time.monotonic() - t0
    assert not result.ok
    assert result.failed_step.endswith("step 1 'patient id'")
    assert "another window" in result.message and "in front" in result.message
    assert result.screenshot.is_file()
    assert app.input_events() == [] and app.saved() == []
    assert x_idle_seconds() >= idle_before + elapsed - 0.2


def _move_pointer_when(player_holder: dict, step_part: str, moves: int = 4, key: str | None = None) -> threading.Thread:
    """From 'the person': move the real pointer (or press `key`) with xdotool once the player has started a step."""

    def person() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            p = player_holder.get("player")
            log = p.runlog.events if p is not None and p.runlog is not None else []
            if any(e["event"] == "step_start" and step_part in e["step"] for e in list(log)):
                break
            time.sleep(0.02)
        time.sleep(0.1)
        for i in range(moves):
            if key:
                subprocess.run(["xdotool", "key", key], check=True)
            else:
                subprocess.run(["xdotool", "mousemove", str(1500 + 10 * i), str(900 + 5 * i)], check=True)
            time.sleep(0.1)
        player_holder["moved_at"] = time.monotonic()

    t = threading.Thread(target=person, daemon=True)
    t.start()
    return t


def test_person_moving_the_mouse_pauses_the_flow_which_resumes_after_quiet(ris, tmp_path):
    app = ris("--show", "search")
    record = load_records()[1]
    flow = load_flow(SAMPLE)
    holder: dict = {}
    player = make_player(flow, tmp_path, resume_after=0.6)
    holder["player"] = player
    person = _move_pointer_when(holder, "'department'")
    try:
        result = player.run(variables={"password": "x"}, records=[record])
    finally:
        player.close()
        person.join(5)
    assert result.ok, result.message
    assert result.pauses >= 1
    names = [e["event"] for e in result.events]
    assert "paused" in names and "resumed" in names
    paused = next(e for e in result.events if e["event"] == "paused")
    assert "pointer moved" in paused["reason"] or "input" in paused["reason"]
    assert [s["fields"] for s in app.saved()] == [record]  # the pause did not spoil the data


def test_person_typing_aborts_the_flow_when_configured(ris, tmp_path):
    app = ris("--show", "search")
    flow = load_flow(SAMPLE)
    holder: dict = {}
    player = make_player(flow, tmp_path, on_user_activity="abort")
    holder["player"] = player
    # a key press (the pointer does not move): seen through the X server's idle time
    person = _move_pointer_when(holder, "'form is up'", moves=1, key="shift")
    try:
        result = player.run(variables={"password": "x"}, records=load_records()[:1])
        ended = time.time()
    finally:
        player.close()
        person.join(5)
    assert not result.ok
    assert "took over" in result.message and "aborted" in result.message
    assert "keyboard or mouse input" in result.message
    assert result.failed_step.endswith("'patient name'")  # the first input step after the key press
    assert app.saved() == []
    # nothing reached the program after the abort
    assert all(e["t"] <= ended for e in app.input_events())


def test_dry_run_sends_nothing_and_draws_the_clicks(ris, tmp_path):
    app = ris()  # login screen
    flow = load_flow(SAMPLE)
    from qcedge.rpa_flows.player import Player

    player = Player(flow, log_dir=tmp_path / "log", dry_run=True)
    idle_before, t0 = x_idle_seconds(), time.monotonic()
    try:
        result = player.run(variables={"password": LOGIN_PASSWORD}, records=load_records()[:1])
    finally:
        player.close()
    elapsed = time.monotonic() - t0
    assert result.ok, result.message
    assert x_idle_seconds() >= idle_before + elapsed - 0.2
    assert app.input_events() == [] and app.saved() == []
    drawing = cv2.imread(str(result.drawing))
    assert drawing is not None and drawing.shape[0] > 1080  # the screen plus the legend below it
    # a red mark where the user-name field would be clicked (centre of the login template's field)
    x, y, w, h = app.ready["widgets"]["user"]
    patch = drawing[y + h // 2 - 16:y + h // 2 + 16, x + w // 2 - 16:x + w // 2 + 16].astype(int)
    red = (patch[:, :, 2] > 180) & (patch[:, :, 1] < 60) & (patch[:, :, 0] < 60)
    assert red.sum() > 20
    planned = [e for e in result.events if e["event"] == "step_ok" and e.get("at")]
    assert planned and planned[0]["at"] == [x + w // 2, y + h // 2]


def test_cli_dry_run_on_a_saved_screenshot_needs_no_display(tmp_path, monkeypatch):
    shot = np.zeros((1080, 1920, 3), np.uint8)
    shot[40:840, 60:1160] = cv2.imread(str(FLOWS / "ris" / "templates" / "ris_login.png"))
    cv2.imwrite(str(tmp_path / "screen.png"), shot)
    (tmp_path / "none.json").write_text("[]", encoding="utf-8")  # the login part only: no OCR needed
    env = {k: v for k, v in __import__("os").environ.items() if k != "DISPLAY"}
    proc = subprocess.run(
        [sys.executable, "-m", "qcedge", "flow", "run", str(SAMPLE), "--dry-run", "--screen-image",
         str(tmp_path / "screen.png"), "--var", "password=x", "--records", str(tmp_path / "none.json"), "--log", str(tmp_path / "logs")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dry run OK" in proc.stdout
    drawing = next((tmp_path / "logs").glob("ris_enter_exams-*-dry/dry-run.png"))
    assert cv2.imread(str(drawing)).shape[1] == 1920
    no_display = subprocess.run([sys.executable, "-m", "qcedge", "flow", "run", str(SAMPLE)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60, env=env)
    assert no_display.returncode == 2 and "DISPLAY is not set" in no_display.stderr


def test_failsafe_corner_stops_the_flow_before_any_input(ris, tmp_path):
    from qcedge.rpa_flows.player import Player

    app = ris("--show", "search")
    subprocess.run(["xdotool", "mousemove", "0", "0"], check=True)  # the person slams the pointer into a corner
    player = Player(load_flow(SAMPLE), log_dir=tmp_path / "log", failsafe=True, key_pause=0.01)
    try:
        result = player.run(variables={"password": "x"}, records=load_records()[:1])
    finally:
        player.close()
        subprocess.run(["xdotool", "mousemove", "960", "540"], check=True)
    assert not result.ok
    assert "fail-safe" in result.message
    assert app.input_events() == [] and app.saved() == []
