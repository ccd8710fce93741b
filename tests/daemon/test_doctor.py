"""`qcedge doctor` against a real `qcedge receive` on 127.0.0.1 and real station configs: a healthy station
passes, and each broken set-up is named by the check that owns it."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qcedge.capture.xvfb import stop_process

from daemon_helpers import ROOT, SECRET, TEMPLATES

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receive:
    """`qcedge receive` as a real process on a free loopback port (optionally under faketime)."""

    def __init__(self, tmp: Path, *args: str, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None):
        self.port = _free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.log = tmp / f"receive-{self.port}.log"
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "qcedge", "receive", "--bind", self.endpoint,
                                      "--db", str(tmp / f"central-{self.port}.sqlite"), "--quiet", *args],
                                     cwd=ROOT, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        deadline = time.monotonic() + 60
        while "receiving on" not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text(errors="replace")
            time.sleep(0.1)

    def stop(self) -> None:
        # faketime runs the receiver as its child: end the whole process group, not only faketime
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        stop_process(self.proc, grace=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """Server and station key pairs, the station's public key on the allow-list."""
    from qcedge.qc_client.keys import generate_keypair

    folder = tmp_path / "keys"
    generate_keypair(folder / "server", "server")
    public, _ = generate_keypair(folder / "station", "doc-st")
    (folder / "allow").mkdir()
    shutil.copy(public, folder / "allow" / public.name)
    generate_keypair(folder / "other", "server")  # a server key central does not hold
    return folder


@pytest.fixture
def curve_central(tmp_path: Path, keys: Path) -> Iterator[Receive]:
    r = Receive(tmp_path, "--keys", str(keys / "server"), "--allow", str(keys / "allow"))
    try:
        yield r
    finally:
        r.stop()


def station(tmp_path: Path, endpoint: str, *, source: str, keys: Path | None = None, templates: Path = TEMPLATES,
            extra: str = "", name: str = "station.toml") -> Path:
    (tmp_path / "site.secret").write_text(SECRET)
    curve = (f'server_key = "{keys / "server" / "server.key"}"\n'
             f'station_key = "{keys / "station" / "doc-st.key_secret"}"\n') if keys else ""
    path = tmp_path / name
    path.write_text(f"""
[station]
id = "doc-st"
site = "test-site"
[source]
{source}
[templates]
folder = "{templates}"
[feed]
endpoint = "{endpoint}"
outbox = "var/outbox.sqlite"
{curve}
[privacy]
secret_file = "site.secret"
[status]
file = "var/status.json"
{extra}
""", encoding="utf-8")
    return path


def doctor(config: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qcedge", "doctor", "--config", str(config), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def verdicts(done: subprocess.CompletedProcess) -> dict[str, tuple[str, str]]:
    data = json.loads(done.stdout)
    return {c["name"]: (c["verdict"], c["detail"]) for c in data["checks"]}


def frames_folder(samples_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(samples_dir / "frames" / "ct_dose" / "ct_dose_000_clean.png", folder / "f1.png")
    return folder


def test_a_healthy_station_passes(tmp_path, samples_dir, keys, curve_central):
    folder = frames_folder(samples_dir, tmp_path)
    config = station(tmp_path, curve_central.endpoint, source=f'kind = "folder"\npath = "{folder}"', keys=keys)
    done = doctor(config)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "all checks pass"
    named = {line.split()[1]: line.split()[0] for line in lines[1:-1]}
    assert named == {"paths": "ok", "display": "skip", "source": "ok", "templates": "ok", "ocr": "ok",
                     "central": "ok", "clock": "ok", "outbox": "ok", "disk": "ok"}
    assert "with CURVE" in done.stdout
    assert SECRET not in done.stdout and "key_secret" not in done.stdout


def test_a_broken_station_names_each_failing_part(tmp_path, samples_dir):
    """No receiver, a source that shows only a black screen, a template that no longer matches its reference,
    an outbox folder the service user cannot write: one run, each part named, exit 1."""
    import cv2
    import numpy as np

    black = tmp_path / "black"
    black.mkdir()
    cv2.imwrite(str(black / "f1.png"), np.zeros((1080, 1920, 3), np.uint8))
    pack = tmp_path / "pack"
    shutil.copytree(TEMPLATES, pack)
    ct = next(pack.glob("ct_dose*.png"))
    dr = next(pack.glob("dr_exposure*.png"))
    shutil.copy(dr, ct)  # the CT template's reference replaced by another screen (a vendor update, a bad copy)
    (tmp_path / "var").mkdir(mode=0o755)
    config = station(tmp_path, f"tcp://127.0.0.1:{_free_port()}", source=f'kind = "folder"\npath = "{black}"',
                     templates=pack, extra='[service]\nuser = "nobody"' if os.geteuid() == 0 else "")
    if os.geteuid() != 0:
        (tmp_path / "var").chmod(0o555)
    try:
        done = doctor(config, "--json")
    finally:
        (tmp_path / "var").chmod(0o755)
    assert done.returncode == 1, done.stderr
    got = verdicts(done)
    assert json.loads(done.stdout)["ok"] is False
    assert got["central"][0] == "FAIL" and "unreachable" in got["central"][1]
    assert got["clock"][0] == "skip" and "not measured" in got["clock"][1]
    assert got["source"][0] == "FAIL" and "no signal" in got["source"][1] and "black" in got["source"][1]
    assert got["templates"][0] == "FAIL" and "ct_dose_report does not match its own reference" in got["templates"][1]
    assert got["outbox"][0] == "FAIL" and "not writable" in got["outbox"][1]
    assert got["ocr"][0] == "ok" and got["disk"][0] == "ok"


def test_central_refuses_the_keys(tmp_path, keys, curve_central):
    from qcedge.config import load_config
    from qcedge.doctor import check_central

    wrong_server = station(tmp_path, curve_central.endpoint, source='kind = "screen"', keys=keys, name="a.toml")
    wrong_server.write_text(wrong_server.read_text().replace(str(keys / "server" / "server.key"),
                                                             str(keys / "other" / "server.key")))
    central, clock = check_central(load_config(wrong_server))
    assert central.ok is False and "CURVE" in central.detail and "wrong server key" in central.detail
    assert clock.ok is None

    from qcedge.qc_client.keys import generate_keypair

    generate_keypair(tmp_path / "stranger", "doc-st")  # a station key central never saw
    unknown = station(tmp_path, curve_central.endpoint, source='kind = "screen"', keys=keys, name="b.toml")
    unknown.write_text(unknown.read_text().replace(str(keys / "station"), str(tmp_path / "stranger")))
    central, _ = check_central(load_config(unknown))
    assert central.ok is False and "allow-list" in central.detail

    no_curve = station(tmp_path, curve_central.endpoint, source='kind = "screen"', name="c.toml")
    central, _ = check_central(load_config(no_curve), timeout=3)
    assert central.ok is False and ("CURVE" in central.detail or "no answer" in central.detail)


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is not installed")
def test_a_clock_ten_minutes_off_is_named(tmp_path):
    from qcedge.config import load_config
    from qcedge.doctor import check_central

    late = Receive(tmp_path, prefix=("faketime", "-f", "+10m"), env={"DONT_FAKE_MONOTONIC": "1"})
    try:
        config = station(tmp_path, late.endpoint, source='kind = "screen"')
        central, clock = check_central(load_config(config))
    finally:
        late.stop()
    assert central.ok is True
    assert clock.ok is False and "behind central's" in clock.detail
    assert 590 < clock.data["offset_s"] < 610


def test_no_display_and_missing_model_are_named(tmp_path):
    from qcedge.config import load_config
    from qcedge.doctor import check_display, check_ocr
    from qcedge.ocr_templates.engines.ppocr import MODEL_FILES, default_model_dir

    config = load_config(station(tmp_path, "tcp://127.0.0.1:9", source='kind = "screen"',
                                 extra='[service]\ndisplay = ":97"'))
    old = os.environ.pop("DISPLAY", None)
    try:
        got = check_display(config)
    finally:
        if old is not None:
            os.environ["DISPLAY"] = old
    assert got.ok is False and "display :97 not reachable" in got.detail

    models = tmp_path / "models"
    models.mkdir()
    for task, name in MODEL_FILES.items():
        if task != "Rec":  # the recogniser's file is gone
            (models / name).symlink_to(default_model_dir() / name)
    got = check_ocr("ppocr", model_dir=models)
    assert got.ok is False and MODEL_FILES["Rec"] in got.detail and "missing" in got.detail


def test_full_disk_and_read_only_outbox_are_named(tmp_path):
    """Real small file systems in a private mount namespace: one filled up, one mounted read-only."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.decode().strip()}")
    full, ro = tmp_path / "full", tmp_path / "ro"
    full.mkdir()
    ro.mkdir()
    config = station(tmp_path, "tcp://127.0.0.1:9", source='kind = "screen"')
    script = f"""
set -e
mount -t tmpfs -o size=2m tmpfs {full}
mount -t tmpfs -o size=2m tmpfs {ro}
mkdir {full}/var {ro}/var
head -c 3000000 /dev/zero > {full}/var/filler 2>/dev/null || true
mount -o remount,ro {ro}
exec {sys.executable} -c '
import json, sys
from pathlib import Path
from qcedge.config import load_config
from qcedge.doctor import check_disk, check_outbox
c = load_config(sys.argv[1])
out = {{}}
for name, folder in (("full", Path(sys.argv[2])), ("ro", Path(sys.argv[3]))):
    cfg = c.model_copy(update={{"feed": c.feed.model_copy(update={{"outbox": folder / "var" / "outbox.sqlite"}})}})
    out[name] = [check_disk(cfg).__dict__, check_outbox(cfg).__dict__]
print(json.dumps(out))
' {config} {full} {ro}
"""
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "mount" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    disk, outbox = got["full"]
    assert disk["ok"] is False and "only 0 MB free" in disk["detail"]
    disk, outbox = got["ro"]
    assert outbox["ok"] is False and "not writable" in outbox["detail"]
