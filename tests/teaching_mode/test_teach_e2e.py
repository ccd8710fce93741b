"""End to end on a real X display: teach the CT dose template through the GUI, then read the
sample frames with it through `qcedge ocr --json` and check the values against the ground truth."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DRIVER = Path(__file__).with_name("teach_e2e_driver.py")
SAMPLE_TEMPLATE = ROOT / "samples" / "templates" / "ct_dose_report.yaml"
SINGLE = ("patient_id", "accession", "exam_time", "total_dlp")
COLUMNS = ("series_no", "kv", "mas", "ctdivol", "dlp")


def norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text))


def run_driver(driver: Path, args: list, xvfb, tmp_path: Path, timeout: int) -> dict:
    """Run a GUI driver script on the test's X display; its report (the last line of its output, JSON)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.name, "PYTHONPATH": str(ROOT),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}  # the window's settings stay in the test
    proc = subprocess.run([sys.executable, str(driver), *map(str, args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"GUI driver failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_with_cli(template: Path, frames: list[dict], timeout: int) -> list[dict]:
    """`qcedge ocr --json` with a taught template on sample frames (no display): one reading per frame."""
    env_cli = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "qcedge", "ocr", "--template", str(template), "--json",
                           *[str(f["abspath"]) for f in frames]],
                          cwd=ROOT, env=env_cli, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    readings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    assert len(readings) == len(frames)
    for frame, reading in zip(frames, readings):
        assert reading["match"]["matched"], f"{frame['path']}: the taught template did not match"
    return readings


@pytest.mark.display
@pytest.mark.slow
def test_teach_through_gui_then_qcedge_ocr_reads_the_samples(xvfb, ct_frames, tmp_path):
    clean = [f for f in ct_frames if f["variant"] == "clean"]
    first = clean[0]
    out = tmp_path / "ct_taught.yaml"
    report = run_driver(DRIVER, [first["abspath"], SAMPLE_TEMPLATE, first["window"][0], first["window"][1], out],
                        xvfb, tmp_path, timeout=120)
    # live OCR in the window already showed the first frame's values
    assert norm(report["live"]["accession"][0]) == first["fields"]["accession"]
    assert norm(report["live"]["total_dlp"][0]) == first["fields"]["total_dlp"]
    assert out.is_file() and out.with_suffix(".png").is_file()

    # two frames as taught and two with the window moved (keeps the test short on 2 shared cores)
    frames = [f for f in ct_frames if f["variant"] == "clean"][:2] + [f for f in ct_frames if f["variant"] == "moved"][:2]
    readings = read_with_cli(out, frames, timeout=180)
    total = right = 0
    misses = []
    for frame, reading in zip(frames, readings):
        for key in SINGLE:
            total += 1
            got = norm(reading["fields"][key]["text"])
            if got == norm(frame["fields"][key]):
                right += 1
            else:
                misses.append((frame["path"], key, got))
        rows = reading["fields"]["series"]["rows"]
        truth_rows = frame["tables"]["series"]
        for i, truth in enumerate(truth_rows):
            for col in COLUMNS:
                total += 1
                got = norm(rows[i][col]["text"]) if i < len(rows) else ""
                if got == norm(truth[col]):
                    right += 1
                else:
                    misses.append((frame["path"], f"series[{i}].{col}", got))
    accuracy = right / total
    print(f"taught template: {right}/{total} values right ({accuracy:.1%}) on {len(frames)} frames")
    assert accuracy >= 0.95, f"accuracy {accuracy:.1%}; misses: {misses[:10]}"


PROPOSE_DRIVER = Path(__file__).with_name("propose_e2e_driver.py")
RIS_TEMPLATE = ROOT / "samples" / "templates" / "ris_registration.yaml"


@pytest.mark.display
@pytest.mark.slow
def test_propose_accept_test_save_with_x_input_reads_longer_values(xvfb, manifest, samples_dir, tmp_path):
    """A new integrator on the RIS form, X input only: anchors, propose, accept the likely ones, test on
    other frames, save; the saved template reads frames with longer values right, none valid-but-wrong."""
    from qcedge.ocr_templates import load_template

    ris = [{**f, "abspath": samples_dir / f["path"]} for f in manifest["frames"] if f["kind"] == "ris_registration"]
    clean = [f for f in ris if f["variant"] == "clean"]
    first = clean[0]
    out = tmp_path / "ris_taught.yaml"
    tests = [str(f["abspath"]) for f in clean[1:3]]
    report = run_driver(PROPOSE_DRIVER, [first["abspath"], RIS_TEMPLATE, first["window"][0], first["window"][1], out,
                                         *tests], xvfb, tmp_path, timeout=300)
    assert report["actions"] <= 40, report["actions"]
    # the test table in the window: both frames matched, their values shown
    col = {h: i for i, h in enumerate(report["header"])}
    for row, path in zip(report["rows"], tests):
        assert row[col["Status"]] in ("complete", "needs review") and "✗" not in row[col["Match (failing anchors)"]]
        truth = next(f for f in clean if str(f["abspath"]) == path)["fields"]
        assert row[col["accession"]] == truth["accession"] and row[col["department"]] == truth["department"]
    assert out.is_file() and out.with_suffix(".png").is_file()

    # the saved template on frames with longer values than the taught one (and with the window moved)
    by_label = {f.label: f.name for f in load_template(RIS_TEMPLATE).fields}
    taught = load_template(out)
    truth_key = {f.name: by_label[f.label] for f in taught.fields if getattr(f, "label", None) in by_label}
    assert len(truth_key) >= 8
    longer = [f for f in clean[3:] if len(f["fields"]["department"]) > len(first["fields"]["department"])
              or len(f["fields"]["exam"]) > len(first["fields"]["exam"])][:2]
    frames = longer + [f for f in ris if f["variant"] == "moved"][3:5]
    readings = read_with_cli(out, frames, timeout=240)
    right = total = 0
    wrong_valid = []
    for frame, reading in zip(frames, readings):
        for name, key in truth_key.items():
            total += 1
            got = reading["fields"][name]
            if norm(got["text"]) == norm(frame["fields"][key]):
                right += 1
            elif got["valid"]:
                wrong_valid.append((frame["path"], key, got["text"], frame["fields"][key]))
    print(f"proposed template: {right}/{total} values right on {len(frames)} frames, {report['actions']} actions")
    assert not wrong_valid, wrong_valid
    assert right >= 0.95 * total
