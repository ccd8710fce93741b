"""Flows against a Tk program with dialogs (not the Qt RIS): keys only ever reach the intended field.

The Tk program logs every key press it receives with the window that got it, and another program
(the "thief") logs every key it gets; neither depends on the player telling the truth.
"""
from __future__ import annotations

import threading
import time

import pytest
import yaml

from rpa_flows import parse_flow

from flow_helpers import make_player
from tk_helpers import RECORDS, TkOrder, order_flow

pytestmark = pytest.mark.display


@pytest.fixture
def tk_order(xvfb, tmp_path):
    apps: list[TkOrder] = []

    def start(*args: str, thief: bool = False) -> tuple[TkOrder, object]:
        app = TkOrder(tmp_path / f"app{len(apps)}", *args, thief=thief)
        apps.append(app)
        return app, app.make_anchors(tmp_path / f"anchors{len(apps)}")

    yield start
    for app in apps:
        app.stop()


def run_flow(text: str, tmp_path, records, **kw):
    flow = parse_flow(yaml.safe_load(text), tmp_path / "flow.yaml")
    player = make_player(flow, tmp_path, **kw)
    try:
        return player.run(records=records)
    finally:
        player.close()


def test_records_saved_exactly_popups_closed_by_on_screen(tk_order, tmp_path):
    app, anchors = tk_order("--popup-rate", "0.25", "--seed", "4")
    result = run_flow(order_flow(app, anchors), tmp_path, RECORDS)
    assert result.ok, result.message
    assert app.saved() == RECORDS  # Chinese by paste, ASCII by keys, every field exact
    fired = [e for e in result.events if e["event"] == "on_screen"]
    assert fired, "the seeded popups never came: the test would prove nothing"
    # Tk moves its own focus to a new dialog before the X server knows of it: a key in flight then can
    # reach the dialog (the same program); the next key is refused. Never more than one per dialog.
    popup_keys = [k for k in app.keys() if k["window"] == "popup"]
    assert len(popup_keys) <= len(fired), popup_keys
    assert all(e["event"] != "pause" for e in result.events)


def test_focus_stolen_while_typing_stops_at_once_and_the_other_program_gets_nothing(tk_order, tmp_path):
    app, anchors = tk_order(thief=True)
    long = dict(RECORDS[0], notes="x" * 60 + "END")

    def steal_midway() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(k["window"] == "main" and k["widget"].endswith("entry9") for k in app.keys()) >= 10:
                app.steal()
                return
            time.sleep(0.005)

    t = threading.Thread(target=steal_midway, daemon=True)
    t.start()
    result = run_flow(order_flow(app, anchors, fields=["patient_id", "notes"]), tmp_path, [long])
    t.join(5)
    assert not result.ok
    assert "focus moved to another program" in result.message, result.message
    assert [k for k in app.keys() if k["window"] == "thief"] == []  # not one key to the other program
    assert app.saved() == []  # stopped: nothing saved, nothing half-saved


def test_dialog_in_the_middle_of_typing_gets_no_key_and_the_field_is_retyped(tk_order, tmp_path):
    app, anchors = tk_order()
    rec = dict(RECORDS[1], notes="y" * 50 + " done")

    def popup_midway() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(k["window"] == "main" and k["widget"].endswith("entry9") for k in app.keys()) >= 12:
                app.popup()
                return
            time.sleep(0.005)

    t = threading.Thread(target=popup_midway, daemon=True)
    t.start()
    result = run_flow(order_flow(app, anchors, fields=["patient_id", "notes"]), tmp_path, [rec])
    t.join(5)
    assert result.ok, result.message
    assert [k for k in app.keys() if k["window"] == "popup"] == []  # the dialog got no typed key
    assert app.saved() == [{**{n: "" for n in rec}, "patient_id": rec["patient_id"], "notes": rec["notes"]}]
    assert any(e["event"] == "step_restart" for e in result.events)


def test_clear_true_leaves_exactly_the_new_text_in_tk(tk_order, tmp_path):
    app, anchors = tk_order()
    flow = order_flow(app, anchors, fields=["patient_id"]).replace(
        "    steps:\n      - {name: patient_id",
        "    steps:\n      - {name: junk, expect: form, type: 'T1001AAA old', into: \"" +
        app.field_locator("patient_id", anchors) + "\"}\n      - {name: patient_id", 1)
    result = run_flow(flow, tmp_path, [{"patient_id": "T2002"}])
    assert result.ok, result.message
    assert app.saved()[0]["patient_id"] == "T2002"
