"""Teaching GUI responsiveness: live OCR after a box move, and opening a 1080p frame with 30 fields.

    python -m benchmarks.run teach

Runs the real window (Qt offscreen platform) with the real PP-OCR engine on a sample
CT dose screen. The 30-field template is made from the text the detector finds on the
frame (every detected line becomes a field), saved as YAML and opened as a user would.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.run import RESULTS, header

ROOT = Path(__file__).resolve().parent.parent
LATENCY_TARGET_MS = 200.0
OPEN_TARGET_S = 2.0

OPEN_SCRIPT = r"""
import os, sys, time, json
t0 = time.perf_counter()
os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, sys.argv[2])
from qcedge.teaching_mode.app import make_app
app = make_app(language="en")
from qcedge.teaching_mode.main_window import MainWindow
win = MainWindow()
win.files.open_template(sys.argv[1])
win.show()
while not (win.windowHandle() and win.windowHandle().isExposed()):
    app.processEvents()
app.processEvents()
shown = time.perf_counter() - t0
names = [f["name"] for f in win.doc.draft.fields]
while not all(n in win.items.results for n in names):
    app.processEvents()
    time.sleep(0.002)
read = time.perf_counter() - t0
print(json.dumps({"shown": shown, "all_read": read, "fields": len(names), "boxes": len(win.canvas.items_by_name)}))
win.doc.dirty = False
win.shutdown()
"""


def sample_frame() -> Path:
    gen = ROOT / "samples" / "generated"
    if not (gen / "manifest.json").is_file():
        subprocess.run([sys.executable, "-m", "samples.generate", "--quiet"], cwd=ROOT, check=True)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["frames"] if f.get("template_id") == "ct_dose_report" and f["variant"] == "clean")
    return gen / entry["path"]


def thirty_field_template(frame: Path, folder: Path) -> Path:
    from qcedge.ocr_templates import get_engine
    from qcedge.teaching_mode.draft import TemplateDraft, read_image

    image = read_image(frame)
    boxes = [b for b in get_engine("ppocr").detect(image) if b.box[2] >= 16 and b.box[3] >= 10]
    boxes.sort(key=lambda b: (b.box[1], b.box[0]))
    draft = TemplateDraft(meta={"id": "bench_30", "version": "1", "title": "30 fields"}, image=image)
    draft.anchors = [{"name": "anchor", "box": list(boxes[0].box)}]
    draft.fields = [{"name": f"f{i:02d}", "box": list(b.box), "type": "text"} for i, b in enumerate(boxes[1:31])]
    assert len(draft.fields) == 30, f"only {len(draft.fields)} text lines detected"
    return draft.save(folder / "bench_30.yaml")


def measure_latency(template: Path, moves: int = 25) -> list[float]:
    """Move one box at a time (as a mouse drag release does) and time until its new result shows."""
    from PySide6.QtWidgets import QApplication

    from qcedge.teaching_mode.app import make_app
    from qcedge.teaching_mode.main_window import MainWindow

    app = make_app(language="en")
    win = MainWindow(quiet_errors=True)
    win.files.open_template(template)
    win.show()
    names = [f["name"] for f in win.doc.draft.fields]
    while not all(n in win.items.results for n in names):
        app.processEvents()
        time.sleep(0.002)
    got: dict[str, float] = {}
    win.live.resultReady.connect(lambda n, r, s: got.__setitem__(n, time.perf_counter()))
    latencies = []
    for i in range(moves):
        name = names[i % len(names)]
        old = list(win.doc.data_of(name)["box"])
        new = [old[0] + (2 if i % 2 == 0 else -2), old[1] + 1, old[2], old[3]]
        got.pop(name, None)
        t0 = time.perf_counter()
        win.doc.move_item(name, old, new)  # exactly what releasing a dragged box does
        while name not in got:
            app.processEvents()
            time.sleep(0.001)
        latencies.append(1000 * (got[name] - t0))
        QApplication.processEvents()
        time.sleep(0.05)
    win.doc.dirty = False
    win.shutdown()
    return latencies


def measure_proposals() -> dict:
    """Propose on one RIS frame, accept the likely proposals as they are, read the other clean frames
    (the window at the same place; several have longer names, departments, exams): values right,
    valid-but-wrong (cut off) and invalid; and the time to propose."""
    import re

    from qcedge.ocr_templates import load_template
    from qcedge.ocr_templates import get_engine
    from qcedge.teaching_mode.draft import read_image
    from qcedge.teaching_mode.live_read import read_all
    from qcedge.teaching_mode.propose import propose_fields

    gen = ROOT / "samples" / "generated"
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    clean = [f for f in manifest["frames"] if f["kind"] == "ris_registration" and f["variant"] == "clean"]
    engine = get_engine("ppocr")
    image = read_image(gen / clean[0]["path"])
    engine.detect(image)  # warm
    t0 = time.perf_counter()
    proposals = propose_fields(engine.detect(image), image)
    seconds = time.perf_counter() - t0
    likely = [p for p in proposals if p.likely]
    by_label = {f.label: f.name for f in load_template(ROOT / "samples" / "templates" / "ris_registration.yaml").fields}
    truth_key = {p.name: by_label[p.label] for p in likely if p.label in by_label}
    data = {"schema": "qcedge.template/1", "id": "bench_ris", "version": "1", "title": "RIS",
            "reference": {"image": "x.png", "width": image.shape[1], "height": image.shape[0]},
            "anchors": [{"name": "a", "box": [0, 0, 40, 40]}], "fields": [p.to_field() for p in likely]}
    norm = lambda t: re.sub(r"\s+", "", str(t))  # noqa: E731
    right = wrong_valid = invalid = 0
    for f in clean[1:]:
        reading = read_all(read_image(gen / f["path"]), data, engine=engine)
        for name, key in truth_key.items():
            res = reading.fields[name]
            if norm(res.text) == norm(f["fields"][key]):
                right += 1
            elif res.valid:
                wrong_valid += 1
            else:
                invalid += 1
    return {"seconds": seconds, "proposals": len(proposals), "likely": len(likely), "checked": len(truth_key),
            "frames": len(clean) - 1, "right": right, "wrong_valid": wrong_valid, "invalid": invalid}


def main(argv: list[str] | None = None) -> int:
    frame = sample_frame()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-teach-") as tmp:
        # the window's settings (recent files) in the bench's folder, not the user's configuration
        old_config = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        template = thirty_field_template(frame, Path(tmp))
        opens = []
        for _ in range(3):
            proc = subprocess.run([sys.executable, "-c", OPEN_SCRIPT, str(template), str(ROOT)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 1
            opens.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        latencies = measure_latency(template)
        prop = measure_proposals()
        if old_config is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = old_config
    shown = [o["shown"] for o in opens]
    read = [o["all_read"] for o in opens]
    lat_sorted = sorted(latencies)
    p50 = statistics.median(latencies)
    p95 = lat_sorted[min(len(lat_sorted) - 1, int(round(0.95 * (len(lat_sorted) - 1))))]
    open_worst = max(shown)
    lat_ok = p95 < LATENCY_TARGET_MS
    open_ok = open_worst < OPEN_TARGET_S
    prop_ok = prop["wrong_valid"] == 0
    lines = [
        header("Teaching GUI (bench_teach)"),
        "Real window on Qt's offscreen platform, real PP-OCR (rapidocr, ONNX Runtime) on the sample CT dose "
        "screen (1920x1080). The 30-field template is made from the text lines the detector finds. "
        f"Load average while measuring: {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
        "(other work on the same 2 cores slows recognition several-fold).\n",
        "| measure | target | measured | result |",
        "|---|---|---|---|",
        f"| live OCR: box moved -> its new result shown (25 moves, 25 ms debounce included) | p95 < {LATENCY_TARGET_MS:.0f} ms "
        f"| median {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies):.0f} ms | {'PASS' if lat_ok else 'MISS'} |",
        f"| open a 1920x1080 frame with 30 fields: new process -> window shown with all boxes (3 runs) | < {OPEN_TARGET_S:.0f} s "
        f"| {', '.join(f'{s:.2f}' for s in shown)} s (worst {open_worst:.2f} s) | {'PASS' if open_ok else 'MISS'} |",
        f"| ... and every field's first live OCR result shown | (no target) | {', '.join(f'{s:.2f}' for s in read)} s | - |",
        f"| proposals accepted as they are (RIS form, {prop['likely']} likely of {prop['proposals']}), read on "
        f"{prop['frames']} other frames: valid-but-wrong (cut-off) values | 0 "
        f"| {prop['wrong_valid']} ({prop['right']} right, {prop['invalid']} flagged invalid, "
        f"of {prop['checked']} fields x {prop['frames']} frames) | {'PASS' if prop_ok else 'MISS'} |",
        f"| propose on a 1920x1080 frame (detect + pair + slots) | (no target) | {prop['seconds']:.2f} s | - |",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "teach.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if lat_ok and open_ok and prop_ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
