"""`qcedge receive --kb DIR`: the CLI hands central's KB folder to the receiver, or says why it cannot."""
from __future__ import annotations

import subprocess
import sys


def test_receive_refuses_a_kb_folder_that_is_not_there(tmp_path):
    out = subprocess.run([sys.executable, "-m", "qcedge", "receive", "--bind", "tcp://127.0.0.1:0", "--db",
                          str(tmp_path / "c.sqlite"), "--kb", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "--kb" in out.stderr and "not a folder" in out.stderr
