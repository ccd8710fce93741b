"""Make the anchor images and templates of the sample flows from the real RIS window.

    python -m samples.ris_app.make_assets [--out samples/flows/ris]

Starts a private Xvfb, shows each screen of the program, grabs it with mss and
crops the named widgets: titles and buttons become anchor PNGs, whole windows
become template references with the field boxes taken from the widgets.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import cv2
import mss
import numpy as np
import yaml

from qcedge.capture.xvfb import VirtualDisplay
from samples.ris_app.display import RisProcess
from samples.ris_app.fields import EXAM_FIELDS, WINDOW_GEOMETRY

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "flows" / "ris"

TITLES = {"login": "login_title", "search": "search_title", "form": "form_title",
          "confirm": "confirm_title", "popup": "popup_title"}
BUTTONS = {"login": ["login_button"], "search": ["search_button"], "form": ["save_button"],
           "confirm": ["confirm_yes"], "popup": ["popup_ok"]}


def grab(display: str) -> np.ndarray:
    os.environ["DISPLAY"] = display
    with mss.MSS() as sct:
        return cv2.cvtColor(np.asarray(sct.grab(sct.monitors[1])), cv2.COLOR_BGRA2BGR)


def crop(img: np.ndarray, box: list[int], pad: int = 0) -> np.ndarray:
    x, y, w, h = box
    return img[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad].copy()


def ink_box(img: np.ndarray, box: list[int], pad: int = 3) -> list[int]:
    """The box around the text inside a label (labels stretch far past their text)."""
    x, y, w, h = box
    patch = cv2.cvtColor(img[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY).astype(np.int16)
    bg = int(np.median(patch))
    ys, xs = np.nonzero(np.abs(patch - bg) > 40)
    if len(xs) == 0:
        return box
    return [x + int(xs.min()) - pad, y + int(ys.min()) - pad, int(xs.max() - xs.min()) + 1 + 2 * pad,
            int(ys.max() - ys.min()) + 1 + 2 * pad]


def rel(box: list[int]) -> list[int]:
    wx, wy = WINDOW_GEOMETRY[:2]
    return [box[0] - wx, box[1] - wy, box[2], box[3]]


def template_yaml(tid: str, title: str, screen: str, anchors: dict[str, list[int]],
                  fields: list[dict]) -> dict:
    w, h = WINDOW_GEOMETRY[2:]
    return {
        "schema": "qcedge.template/1", "id": tid, "version": "1", "title": title,
        "program": "杏林 RIS 3.2 (simulated)", "screen": screen,
        "reference": {"image": f"{tid}.png", "width": w, "height": h},
        "match": {"threshold": 0.85},
        "anchors": [{"name": n, "box": b} for n, b in anchors.items()],
        "fields": fields,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    (args.out / "anchors").mkdir(parents=True, exist_ok=True)
    (args.out / "templates").mkdir(parents=True, exist_ok=True)
    xvfb = VirtualDisplay()
    try:
        env = {**os.environ, "DISPLAY": xvfb.name}
        subprocess.run(["xdotool", "mousemove", "1900", "1060"], env=env, check=True)
        with tempfile.TemporaryDirectory() as tmp:
            shots: dict[str, tuple[np.ndarray, dict[str, list[int]]]] = {}
            for state in TITLES:
                app = RisProcess(xvfb.name, Path(tmp) / state, "--show", state)
                try:
                    time.sleep(0.3)
                    shots[state] = (grab(xvfb.name), app.ready["widgets"])
                finally:
                    app.stop()
        window = [WINDOW_GEOMETRY[0], WINDOW_GEOMETRY[1], WINDOW_GEOMETRY[2], WINDOW_GEOMETRY[3]]
        for state, (img, widgets) in shots.items():
            title = ink_box(img, widgets[TITLES[state]])
            cv2.imwrite(str(args.out / "anchors" / f"{TITLES[state]}.png"), crop(img, title))
            for name in BUTTONS[state]:
                cv2.imwrite(str(args.out / "anchors" / f"{name}.png"), crop(img, widgets[name]))
            if state in ("login", "search", "form"):
                cv2.imwrite(str(args.out / "templates" / f"ris_{state}.png"), crop(img, window))
            if state == "form":
                label = ink_box(img, widgets["label_patient_name"])
                fields = [{"name": n, "label": lab, "box": rel(widgets[n]), "required": False,
                           **({"personal": True} if n in ("patient_id", "patient_name", "birth_date") else {})}
                          for n, lab in EXAM_FIELDS]
                doc = template_yaml("ris_form", "RIS exam registration form", "exam form",
                                    {"title": rel(title), "label_patient_name": rel(label)}, fields)
            elif state == "login":
                doc = template_yaml("ris_login", "RIS login", "login", {"title": rel(title)},
                                    [{"name": "user", "box": rel(widgets["user"])},
                                     {"name": "password", "box": rel(widgets["password"])}])
            elif state == "search":
                saved = widgets["last_saved"]
                doc = template_yaml("ris_search", "RIS patient search", "search", {"title": rel(title)},
                                    [{"name": "search_id", "box": rel(widgets["search_id"]), "personal": True},
                                     {"name": "last_saved", "box": rel([saved[0], saved[1], 400, saved[3]]),
                                      "required": False, "regex": r"R\d{4}"}])
            else:
                continue
            path = args.out / "templates" / f"{doc['id']}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8")
        print(f"wrote anchors and templates to {args.out}")
    finally:
        xvfb.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
