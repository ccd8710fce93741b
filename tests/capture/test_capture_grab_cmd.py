"""`qcedge grab`: the integrator's way to check a source and save frames."""
from __future__ import annotations

import json
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from qcedge.cli import main

from capture_helpers import console_screen


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def qcedge(capsys):
    """Run the qcedge CLI in this process (as the console script does) and capture its output."""
    def run(*args: str) -> Result:
        code = main(list(args))
        out = capsys.readouterr()
        return Result(code, out.out, out.err)
    return run


def test_grab_reads_a_folder_reports_changes_and_saves_pngs(tmp_path, qcedge):
    frames = tmp_path / "in"
    frames.mkdir()
    a = console_screen({"kV": "120"}, (640, 360))
    b = console_screen({"kV": "125"}, (640, 360))
    for i, img in enumerate([a, a, a, b, b, b]):
        cv2.imwrite(str(frames / f"f{i}.png"), img)
    out = tmp_path / "out"
    result = qcedge("grab", f"folder:{frames}", "-n", "0", "--json", "-o", str(out), "--changed-only")
    assert result.returncode == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["changed"] for d in docs] == [True, False, False, True, False, False]
    assert [d["settled"] for d in docs] == [False, False, True, False, False, True]
    assert [d["origin"] for d in docs] == [f"f{i}.png" for i in range(6)]
    saved = sorted(out.glob("*.png"))
    assert [p.name for p in saved] == ["000002.png", "000005.png"]
    assert np.array_equal(cv2.imread(str(saved[1])), b)


def test_grab_bad_spec_or_missing_source_is_one_line_exit_2(tmp_path, qcedge):
    bad = qcedge("grab", "webcam:0")
    assert bad.returncode == 2 and "unknown kind 'webcam'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    missing = qcedge("grab", f"file:{tmp_path}/none.mp4")
    assert missing.returncode == 2 and "not found" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
