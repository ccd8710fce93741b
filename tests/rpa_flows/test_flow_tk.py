"""Flows against a Tk program with dialogs (not the Qt RIS): keys only ever reach the intended field.

The Tk program logs every key press it receives with the window that got it, and another program
(the "thief") logs every key it gets; neither depends on the player telling the truth.
"""
from __future__ import annotations

import threading
import time

import pytest
import yaml

from qcedge.rpa_flows import parse_flow

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


def after_notes_keys(app: TkOrder, count: int, act) -> threading.Thread:
    """A thread that does `act` (steal the focus, open a dialog) once the notes field got `count` keys:
    in the middle of typing."""
    def watch() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sum(k["window"] == "main" and k["widget"].endswith("entry9") for k in app.keys()) >= count:
                act()
                return
            time.sleep(0.005)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


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
    t = after_notes_keys(app, 10, app.steal)
    result = run_flow(order_flow(app, anchors, fields=["patient_id", "notes"]), tmp_path, [long])
    t.join(5)
    assert not result.ok
    assert "focus moved to another program" in result.message, result.message
    assert [k for k in app.keys() if k["window"] == "thief"] == []  # not one key to the other program
    assert app.saved() == []  # stopped: nothing saved, nothing half-saved


def test_dialog_in_the_middle_of_typing_gets_no_key_and_the_field_is_retyped(tk_order, tmp_path):
    app, anchors = tk_order()
    rec = dict(RECORDS[1], notes="y" * 50 + " done")
    t = after_notes_keys(app, 12, app.popup)
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


def test_a_stopped_batch_resumes_without_entering_saved_records_again(tk_order, tmp_path):
    """Run 1 stops when another program takes the focus during record 2; `--resume LOG` enters the rest."""
    import json
    import os
    import subprocess
    import sys

    from Xlib import X, display

    from flow_helpers import ROOT

    app, anchors = tk_order(thief=True)
    flow_file = tmp_path / "order.yaml"
    flow_file.write_text(order_flow(app, anchors, fields=["patient_id", "name", "notes"]) +
                         '      - {name: secret known, check: {equals: ["${secret}", "s3cret"]}}\n', encoding="utf-8")
    records = [{k: r[k] for k in ("patient_id", "name", "notes")} for r in RECORDS]
    rec_file = tmp_path / "records.json"
    rec_file.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    var_file = tmp_path / "secrets.env"
    var_file.write_text("secret=s3cret\n", encoding="utf-8")
    var_file.chmod(0o644)

    def cli(*extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "qcedge", "flow", "run", str(flow_file), "--records", str(rec_file),
                               "--log", str(tmp_path / "logs"), *extra], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, env={**os.environ, **(env or {})})

    def saved() -> list[dict]:
        return [{k: r[k] for k in ("patient_id", "name", "notes")} for r in app.saved()]

    refused = cli("--var-file", str(var_file))
    assert refused.returncode == 2 and "chmod 600" in refused.stderr and "s3cret" not in refused.stderr
    var_file.chmod(0o600)

    def steal_in_record_2() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            keys = [k["keysym"] for k in app.keys() if k["window"] == "main"]
            if "".join(keys).find("1002") >= 0:
                app.steal()
                return
            time.sleep(0.003)

    t = threading.Thread(target=steal_in_record_2, daemon=True)
    t.start()
    first = cli("--var-file", str(var_file))
    t.join(5)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "records: 1 done" in first.stdout
    assert saved() == records[:1]
    assert [k for k in app.keys() if k["window"] == "thief"] == []

    d = display.Display()  # the person gives the focus back
    d.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
    d.sync()
    d.close()
    run_dir = next(p for p in (tmp_path / "logs").iterdir() if p.is_dir())
    second = cli("--var-env", "secret=QCEDGE_TEST_SECRET", "--resume", str(run_dir),
                  env={"QCEDGE_TEST_SECRET": "s3cret"})
    assert second.returncode == 0, second.stdout + second.stderr
    assert "records: 2 done in this run, 1 skipped" in second.stdout
    assert saved() == records  # each exactly once; the disturbed one entered whole
    for r in records:  # no patient data in the run logs
        for log in (tmp_path / "logs").glob("*/run.jsonl"):
            assert r["patient_id"] not in log.read_text(encoding="utf-8")


def test_forty_disturbances_no_key_to_another_program_and_records_exact_or_absent(tk_order, tmp_path):
    """Dialogs of the program, focus theft by another program and pointer moves by a person, at random
    moments while typing (seeded); every stop is resumed with the records already saved skipped."""
    from tk_helpers import run_disturbed

    app, anchors = tk_order(thief=True)
    fields = ["patient_id", "name", "phone", "notes"]
    records = [{f: f"{r[f]}-{i}" for f in fields} for i, r in enumerate(RECORDS * 5)]
    out = run_disturbed(app, order_flow(app, anchors, fields=fields), records, tmp_path, disturbances=40, seed=3,
                        gap=25)
    print({k: v for k, v in out.items() if k not in ("saved", "reasons")})
    assert out["disturbances"] >= 40, out["by_kind"]
    assert out["keys_to_other_program"] == 0
    saved = [{f: r[f] for f in fields} for r in out["saved"]]
    assert sorted(saved, key=str) == sorted(records, key=str), out["reasons"]  # each exactly once, nothing half


def test_a_drop_down_list_of_the_program_counts_as_its_own_window(tk_order, tmp_path):
    """The combobox list is an override-redirect window of the same X client: a click there is allowed."""
    app, anchors = tk_order()
    x, y, w, h = app.boxes["entry_dept"]
    flow = f"""
id: dropdown
settings: {{timeout: 3, key_pause: 0.05}}
screens:
  form: {{all: ["image:{anchors}/title.png"], none: [notice, confirm]}}
  notice: {{all: ["image:{anchors}/notice.png"]}}
  confirm: {{all: ["image:{anchors}/confirm.png"]}}
steps:
  - {{name: open list, expect: form, click: "point:{x + w - 8},{y + h // 2}"}}
  - {{name: pick first, click: "point:{x + 30},{y + h + 12}"}}
  - {{name: save, click: "image:{anchors}/save.png"}}
  - {{name: confirm, wait: confirm}}
  - {{name: say yes, expect: confirm, hotkey: enter}}
  - {{name: saved, wait: {{vanish: confirm}}}}
"""
    result = run_flow(flow, tmp_path, None)
    assert result.ok, result.message
    assert app.saved()[0]["dept"] == "内科"


def test_a_paste_swallowed_by_a_popup_is_reported_as_the_screen_changed(tk_order, tmp_path):
    app, anchors = tk_order("--popup-on-paste")
    result = run_flow(order_flow(app, anchors, fields=["name"], on_screen=False), tmp_path, [{"name": "欧阳娜娜"}])
    assert not result.ok
    assert "the screen changed while pasting" in result.message and "internal error" not in result.message
    assert app.saved() == []
