"""`qcedge ocr` and `qcedge match` as a person runs them: output, JSON, exit codes, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from qcedge.cli import main
from tests.ocr_templates import synth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frames(tmp_path_factory, screens):
    folder = tmp_path_factory.mktemp("frames")
    _, images = screens
    paths = {}
    for name in ("moved", "hdmi"):
        paths[name] = folder / f"{name}.png"
        cv2.imwrite(str(paths[name]), images[name])
    paths["desktop"] = folder / "desktop.png"
    cv2.imwrite(str(paths["desktop"]), synth.plain_desktop())
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("not an image", encoding="utf-8")
    return paths


def test_ocr_prints_values_confidence_and_validity(pack, frames, screens, capsys):
    screen, _ = screens
    assert main(["ocr", "--template", str(pack / "synth_dose.yaml"), str(frames["moved"])]) == 0
    out = capsys.readouterr().out
    assert "synth-dose matched" in out and "complete" in out
    assert f"accession     {screen.values['accession']}" in out
    assert "conf " in out and " ok" in out
    assert "table, " in out and "check total_dlp: ok" in out


def test_ocr_json(pack, frames, screens, capsys):
    screen, _ = screens
    assert main(["ocr", "--template", str(pack / "synth_dose.yaml"), "--json", str(frames["hdmi"])]) == 0
    doc = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    assert doc["template"] == "synth-dose" and doc["match"]["matched"]
    assert doc["fields"]["exam_date"]["value"] == screen.values["exam_date"].isoformat()
    assert doc["fields"]["kv"]["value"] == screen.values["kv"]
    rows = doc["fields"]["series"]["rows"]
    assert [r["dlp"]["value"] for r in rows] == [r["dlp"] for r in screen.rows]
    assert doc["fields"]["patient_name"]["personal"] is True


def test_match_names_template_place_and_score(pack, frames, capsys):
    code = main(["match", "--templates", str(pack), str(frames["moved"]), str(frames["desktop"])])
    out = capsys.readouterr().out.splitlines()
    assert code == 1   # one image matched nothing
    assert "moved.png: synth-dose (score 1.000, scale 1.000" in out[0]
    assert "desktop.png: no template matches" in out[1]
    assert main(["match", "--templates", str(pack), "--json", str(frames["hdmi"])]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["template"] == "synth-dose"
    best = doc["results"][0]
    assert best["matched"] and abs(best["scale"] - 0.9) < 0.01 and set(best["anchors"]) >= {"title"}


@pytest.mark.parametrize("args,needle", [
    (["ocr", "--template", "{pack}/missing.yaml", "{moved}"], "missing.yaml: cannot read the file"),
    (["ocr", "--template", "{pack}/synth_dose.yaml", "{text}"], "notes.png: not an image"),
    (["ocr", "--template", "{pack}/synth_dose.yaml", "{pack}/nope.png"], "nope.png: no such image file"),
    (["match", "--templates", "{pack}/synth_dose.png", "{moved}"], "not a folder of templates"),
])
def test_bad_input_is_one_line_and_exit_2(pack, frames, args, needle):
    argv = [a.format(pack=pack, moved=frames["moved"], text=frames["text"]) for a in args]
    proc = subprocess.run([sys.executable, "-m", "qcedge", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_broken_template_in_pack_is_named(pack, frames, tmp_path):
    import shutil

    bad = tmp_path / "pack"
    shutil.copytree(pack, bad)
    text = (bad / "synth_form.yaml").read_text(encoding="utf-8").replace("type: integer", "type: number")
    (bad / "synth_form.yaml").write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "qcedge", "match", "--templates", str(bad), str(frames["moved"])],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "synth_form.yaml (fields[2] 'age' > type)" in proc.stderr


@pytest.mark.parametrize("command", ["ocr", "match"])
def test_missing_engine_is_a_failed_operation_exit_1(pack, frames, monkeypatch, capsys, command):
    import qcedge.ocr_templates
    from qcedge.ocr_templates import EngineUnavailable

    def unavailable(name: str = "ppocr"):
        raise EngineUnavailable(f"the '{name}' engine needs the rapidocr package")

    monkeypatch.setattr(qcedge.ocr_templates, "get_engine", unavailable)
    where = ["--template", str(pack / "synth_dose.yaml")] if command == "ocr" else ["--templates", str(pack)]
    assert main([command, *where, str(frames["moved"])]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"qcedge {command}: the 'ppocr' engine needs")
    assert ("--engine none" in err[0]) == (command == "match")
