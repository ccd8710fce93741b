"""The Tk order program (tk_order_app.py) for flow tests: start it, cut anchors from its real window, write flows."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2

from qcedge.capture.xvfb import stop_process

HERE = Path(__file__).resolve().parent
APP = HERE / "tk_order_app.py"
TEXT_FIELDS = ["patient_id", "name", "sex", "phone", "dept", "doctor", "diagnosis", "drug", "dose", "notes"]


def _wait_file(path: Path, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} did not appear")
        time.sleep(0.03)
    text = path.read_text()
    return json.loads(text) if text.startswith("{") else {}


def _json_lines(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file the program appends to (none yet: no file)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class TkOrder:
    """The order program and (optionally) another program that steals the focus, on $DISPLAY."""

    def __init__(self, workdir: Path, *args: str, thief: bool = False) -> None:
        self.dir = workdir
        self.control = workdir / "control"
        self.control.mkdir(parents=True, exist_ok=True)
        self.out, self.events = workdir / "saved.jsonl", workdir / "keys.jsonl"
        self.procs = [subprocess.Popen([sys.executable, str(APP), "--out", str(self.out), "--events", str(self.events),
                                        "--control", str(self.control), *args])]
        if thief:
            self.procs.append(subprocess.Popen([sys.executable, str(APP), "--thief", "--events", str(self.events),
                                                "--control", str(self.control)]))
            _wait_file(self.control / "thief-ready")
        self.boxes = _wait_file(self.control / "ready")
        time.sleep(0.3)

    def saved(self) -> list[dict]:
        """The orders the program saved."""
        return _json_lines(self.out)

    def keys(self) -> list[dict]:
        """Every key press the program (and the thief) received, with the window that got it."""
        return _json_lines(self.events)

    def popup(self) -> dict:
        (self.control / "popup").touch()
        return _wait_file(self.control / "popup.json")

    def steal(self) -> None:
        (self.control / "steal").touch()

    def make_anchors(self, into: Path) -> Path:
        """Cut anchor images from the live window: title, field labels, save, notice popup, confirm dialog."""
        from qcedge.rpa_flows.screen import LiveScreen
        from qcedge.rpa_flows.x11 import X11Desktop

        into.mkdir(parents=True, exist_ok=True)
        screen = LiveScreen()
        desk = X11Desktop(failsafe=False, pause=0.02)
        try:
            def cut(name: str, box: list[int], frame) -> None:
                x, y, w, h = box
                cv2.imwrite(str(into / f"{name}.png"), frame[y:y + h, x:x + w])

            frame = screen.grab().copy()
            cut("title", self.boxes["title"], frame)
            cut("save", self.boxes["save"], frame)
            for n in TEXT_FIELDS:
                cut(f"label_{n}", self.boxes[f"label_{n}"], frame)
            pop = self.popup()
            time.sleep(0.3)
            frame = screen.grab().copy()
            cut("notice", pop["label"], frame)
            cut("notice_ok", pop["ok"], frame)
            x, y, w, h = pop["ok"]
            desk.click(x + w // 2, y + h // 2, "left", 1, lambda i: None)
            deadline = time.monotonic() + 5
            while (self.control / "popup.json").exists() and time.monotonic() < deadline:
                time.sleep(0.03)
            x, y, w, h = self.boxes["save"]
            desk.click(x + w // 2, y + h // 2, "left", 1, lambda i: None)
            conf = _wait_file(self.control / "confirm.json")
            time.sleep(0.3)
            frame = screen.grab().copy()
            cut("confirm", conf["label"], frame)
            desk.press(["esc"], lambda i: None)  # "No": nothing saved
            time.sleep(0.3)
        finally:
            screen.close()
            desk.close()
        return into

    def field_locator(self, name: str, anchors: Path) -> str:
        """`into` for a field: its label's anchor + offset to the entry's centre + the entry's size."""
        lx, ly, lw, lh = self.boxes[f"label_{name}"]
        ex, ey, ew, eh = self.boxes[f"entry_{name}"]
        dx, dy = (ex + ew // 2) - (lx + lw // 2), (ey + eh // 2) - (ly + lh // 2)
        return f"image:{anchors}/label_{name}.png + offset:{dx},{dy} + size:{ew - 4},{eh - 4}"

    def stop(self) -> None:
        for p in self.procs:
            stop_process(p)


def order_flow(app: TkOrder, anchors: Path, *, settings: str = "", fields: list[str] | None = None,
               on_screen: bool = True, clear: str = "true") -> str:
    """A flow that enters every record into the order form and saves it."""
    fields = fields or TEXT_FIELDS
    steps = "\n".join(
        f'      - {{name: {n}, expect: form, type: "${{record.{n}}}", into: "{app.field_locator(n, anchors)}", '
        f'clear: {clear}}}' for n in fields)
    handler = f"""on_screen:
  - name: close notice
    screen: notice
    steps:
      - {{name: ok, click: "image:{anchors}/notice_ok.png"}}
      - {{name: gone, wait: {{vanish: notice, timeout: 3}}}}
""" if on_screen else ""
    return f"""
id: tk_order
settings: {{timeout: 3, key_pause: 0.01, type_delay_ms: 2, resume_after: 0.5{settings}}}
screens:
  form: {{all: ["image:{anchors}/title.png"], none: [notice, confirm]}}
  notice: {{all: ["image:{anchors}/notice.png"]}}
  confirm: {{all: ["image:{anchors}/confirm.png"]}}
{handler}steps:
  - name: each
    for_each: records
    steps:
{steps}
      - {{name: save, expect: form, click: "image:{anchors}/save.png"}}
      - {{name: confirm, wait: confirm}}
      - {{name: say yes, expect: confirm, hotkey: enter}}
      - {{name: saved, wait: {{vanish: confirm}}}}
"""


RECORDS = [
    {"patient_id": "T1001", "name": "欧阳娜娜", "sex": "F", "phone": "13800138000", "dept": "内科",
     "doctor": "Dr. Chen", "diagnosis": "肺结节复查 (3个月)", "drug": "Amoxicillin <500mg>", "dose": "2x/day",
     "notes": "allergy: none; \"ok\" & [urgent]"},
    {"patient_id": "T1002", "name": "Smith John", "sex": "M", "phone": "+86 10 5555-0101", "dept": "ENT",
     "doctor": "王建国", "diagnosis": "TIA r/o stroke", "drug": "Aspirin", "dose": "100 mg",
     "notes": "a\\b/c?d*e#f$g%h ~ `x`"},
    {"patient_id": "T1003", "name": "李四", "sex": "M", "phone": "010-88886666", "dept": "骨科",
     "doctor": "李医生", "diagnosis": "腰痛，L4/L5?", "drug": "Ibuprofen", "dose": "0.4 g", "notes": "复查，对比片"},
]


# -- disturbances: a dialog of the program, another program taking the focus, the pointer moved by a person --

class Disturber:
    """Injects disturbances at random moments during typing (after a random number of keys reached the
    form), in a thread of its own. After a focus theft the run stops: `after_stop()` is what the person
    does then (gives the focus back, says No to a leftover confirmation)."""

    def __init__(self, app: TkOrder, seed: int, budget: int, kinds: tuple[str, ...] = ("popup", "steal", "pointer"),
                 gap: int = 60) -> None:
        import random
        import threading

        self.app, self.rng, self.budget, self.kinds, self.gap = app, random.Random(seed), budget, kinds, gap
        self.fired: list[str] = []
        self._stop = threading.Event()
        self._hold = threading.Event()  # set while a stopped run waits for the person
        self._offset = 0
        self._main_keys = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "Disturber":
        self.thread.start()
        return self

    def _count_keys(self) -> None:
        if not self.app.events.exists():
            return
        with open(self.app.events, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        self._main_keys += chunk[:end].count(b'"window": "main"')

    def _run(self) -> None:
        from Xlib import display
        from Xlib.ext import xtest

        person = display.Display()
        target = self.rng.randint(3, self.gap)
        try:
            while not self._stop.is_set() and len(self.fired) < self.budget:
                time.sleep(0.004)
                if self._hold.is_set():
                    continue
                self._count_keys()
                if self._main_keys < target:
                    continue
                kind = self.rng.choice(self.kinds)
                if kind == "popup":
                    (self.app.control / "popup").touch()
                elif kind == "steal":
                    self._hold.set()  # the run will stop; no more disturbances until the person is back
                    self.app.steal()
                else:  # the person moves the mouse
                    x, y = self.rng.randint(100, 1800), self.rng.randint(100, 1000)
                    xtest.fake_input(person, 6, x=x, y=y)  # MotionNotify
                    person.sync()
                self.fired.append(kind)
                target = self._main_keys + self.rng.randint(3, self.gap)
        finally:
            person.close()

    def after_stop(self) -> None:
        """The person after a stopped run: the focus back on the program, no leftover confirmation."""
        from Xlib import X, display

        d = display.Display()
        try:  # as a window manager does when the person clicks the program's window
            main = next((w for w in d.screen().root.query_tree().children
                         if w.get_wm_name() == "Outpatient order"), None)
            if main is not None:
                d.set_input_focus(main, X.RevertToPointerRoot, X.CurrentTime)
            else:
                d.set_input_focus(X.PointerRoot, X.RevertToPointerRoot, X.CurrentTime)
            d.sync()
        finally:
            d.close()
        if (self.app.control / "confirm.json").exists():
            (self.app.control / "confirm.json").unlink()
            subprocess.run(["xdotool", "key", "Escape"], check=False)  # the run stopped: do not save
        time.sleep(0.3)
        self._hold.clear()

    @property
    def holding(self) -> bool:
        return self._hold.is_set()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)


def run_disturbed(app: TkOrder, flow_text: str, records: list[dict], workdir: Path, disturbances: int,
                  seed: int = 1, max_runs: int = 400, gap: int = 60, until_budget: bool = False) -> dict:
    """Enter `records` while `disturbances` are injected; resume after every stop. What reached where."""
    import yaml

    from qcedge.rpa_flows import parse_flow
    from qcedge.rpa_flows.player import Player
    from qcedge.rpa_flows.variables import done_records

    flow = parse_flow(yaml.safe_load(flow_text), workdir / "flow.yaml")
    dist = Disturber(app, seed, disturbances, gap=gap).start()
    done: set[str] = set()
    runs = stops = 0
    reasons: list[str] = []
    t0 = time.monotonic()
    first = list(records)
    try:
        while runs < max_runs:
            player = Player(flow, log_dir=workdir / f"log{runs}", failsafe=False, resume_done=done, key_pause=0.01)
            try:
                result = player.run(records=records)
            finally:
                player.close()
            done |= done_records(workdir / f"log{runs}")
            runs += 1
            if result.ok and dist.holding:
                dist.after_stop()  # a theft after the last key: the run ended well, the person still steps in
            if result.ok and len(done) >= len(records):
                if not until_budget or len(dist.fired) >= disturbances:
                    break
                n = len(records) // len(first)  # all entered, budget not spent: another pass of new records
                records = records + [{k: f"{v}~{n}" if k == "patient_id" else v for k, v in r.items()} for r in first]
                continue
            stops += 1
            reasons.append(result.message)
            dist.after_stop()
    finally:
        dist.stop()
    keys = app.keys()
    return {"disturbances": len(dist.fired), "by_kind": {k: dist.fired.count(k) for k in set(dist.fired)},
            "runs": runs, "stops": stops, "reasons": reasons, "seconds": time.monotonic() - t0,
            "keys_to_other_program": sum(k["window"] == "thief" for k in keys),
            "keys_to_popup": sum(k["window"] == "popup" for k in keys),
            "saved": app.saved(), "done": len(done), "records": records}
