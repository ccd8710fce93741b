"""A running daemon: the layered rules of its release give feedback at once with central down, and the same
finding is not shown again when central's verdict arrives; a published release is switched to between
frames without a restart (a template it drops no longer reads its screen); the status reports the release."""
from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import cv2
import yaml

from qcedge.capture import Frame
from qcedge.central.kb import KbCentral, build_release
from kbtools import SAMPLES, install_release, make_source, wait_until, write_station_config
from qcedge.qc_client.kb import ReleaseStore, load_public_key
from qcedge.qc_client.receiver import Receiver
from qcedge.config import load_config
from qcedge.daemon import Daemon



class Screen:
    """A live source showing whatever image the test puts on it."""

    live = True

    def __init__(self, image):
        self.image, self.n = image, 0

    def open(self):
        return self

    def close(self):
        pass

    def read(self):
        self.n += 1
        return Frame(image=self.image, source_id="screen", index=self.n)


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _source_with_hospital_rule(folder: Path, drop: tuple[str, ...] = ()) -> Path:
    src = make_source(folder)
    rules = yaml.safe_load((src / "rules.yaml").read_text(encoding="utf-8"))
    rules["hospital"] = {"test-site": [{"id": "ct-total-dlp", "warn": 1}]}  # the hospital lowers a national level
    (src / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    for t in drop:
        (src / "templates" / f"{t}.yaml").unlink()
        (src / "templates" / f"{t}.png").unlink()
    return src


def test_edge_rules_and_a_live_switch(tmp_path, keys, samples_dir):
    frames = samples_dir / "frames"
    secret, public = keys
    b1 = build_release(_source_with_hospital_rule(tmp_path / "s1"), tmp_path / "kb-1.tar", secret, version=1, who="qa")
    b2 = build_release(_source_with_hospital_rule(tmp_path / "s2", drop=("dr_exposure_panel",)), tmp_path / "kb-2.tar",
                       secret, version=2, who="qa")
    # the station was given release 1 earlier
    store = ReleaseStore(tmp_path / "station-kb")
    install_release(store, b1, load_public_key(public))

    port = _free_port()
    write_station_config(tmp_path / "station.toml", station="test-st", site="test-site", source={"kind": "screen"},
                         templates={"folder": SAMPLES / "templates", "warm_up": False},
                         endpoint=[f"tcp://127.0.0.1:{port}"], detection={"fps": 10, "settle_frames": 2},
                         kb={"public_key": public, "folder": "station-kb"},
                         status={"file": "var/status.json", "interval": 0.2})
    config = load_config(tmp_path / "station.toml", check_secret=False)
    shown, made = [], []
    ct0 = cv2.imread(str(frames / "ct_dose" / "ct_dose_000_clean.png"))
    screen = Screen(ct0)
    daemon = Daemon(config, source=screen, on_feedback=shown.append, on_made=made.append, drain_seconds=0.5)
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    receiver = None
    try:
        # central is down: the hospital's lowered DLP level fires at the station itself
        wait_until(lambda: any(f.rule == "ct-total-dlp" for f in shown), what="edge feedback with central down")
        rid = made[0].record.id
        assert daemon.health.feedback_received == 0 and daemon.status()["kb"]["running"] == 1
        dlp = [f for f in shown if f.rule == "ct-total-dlp"]
        assert len(dlp) == 1 and dlp[0].level == "warn" and dlp[0].record_id == rid
        # release 1 reads the DR panel
        screen.image = cv2.imread(str(frames / "dr_exposure" / "dr_exposure_000_clean.png"))
        wait_until(lambda: any(m.record.template.id == "dr_exposure_panel" for m in made), what="DR record on release 1")

        # central comes up with the same rules and the release store: its verdict is not shown again
        central_dir = tmp_path / "central"
        central_dir.mkdir()
        shutil.copyfile(public, central_dir / "kb.pub")
        kb = KbCentral(central_dir, recheck=0.1)
        kb.publish(b1, "qa")
        receiver = Receiver(f"tcp://127.0.0.1:{port}", tmp_path / "central.sqlite",
                            rules=tmp_path / "s1" / "rules.yaml", kb=kb).start()
        wait_until(lambda: daemon.health.records_acked >= 2 and daemon.health.feedback_received >= 1,
              what="central's acks with feedback")
        assert [f.rule for f in shown].count("ct-total-dlp") == 1
        assert receiver.store.count() == 2

        # release 2 (no DR template) is published and switched to while the daemon runs
        kb.publish(b2, "qa")
        wait_until(lambda: daemon.pipeline.kb_version == 2, what="the live switch")
        wait_until(lambda: json.loads(config.status.file.read_text()).get("kb", {}).get("running") == 2,
              what="the status file to show release 2")
        unknown = daemon.health.unknown_screens
        screen.image = cv2.imread(str(frames / "dr_exposure" / "dr_exposure_001_clean.png"))
        wait_until(lambda: daemon.health.unknown_screens > unknown, what="the DR screen unknown on release 2")
        screen.image = cv2.imread(str(frames / "ct_dose" / "ct_dose_001_clean.png"))
        wait_until(lambda: len(made) == 3, what="a CT record on release 2")
        assert made[-1].record.template.id == "ct_dose_report"
        wait_until(lambda: any(r.station == "test-st" and r.version == 2 for r in kb.status()), what="central to see 2")
    finally:
        daemon.stop()
        runner.join(30)
        if receiver is not None:
            receiver.close()
    assert not runner.is_alive()


def test_a_release_altered_on_disk_is_not_run_and_a_missing_key_is_one_line(tmp_path, keys, samples_dir):
    frames = samples_dir / "frames"
    from qcedge.central.kb import build_release as build
    from qcedge.cli import main

    secret, public = keys
    store = ReleaseStore(tmp_path / "station-kb")
    for v in (1, 2):
        b = build(_source_with_hospital_rule(tmp_path / f"s{v}"), tmp_path / f"kb-{v}.tar", secret, version=v, who="qa")
        install_release(store, b, load_public_key(public))
    rules = tmp_path / "station-kb" / "releases" / "2" / "rules.yaml"
    rules.write_text(rules.read_text() + "\n# edited by hand\n")
    write_station_config(tmp_path / "station.toml", station="test-st", site="test-site", source={"kind": "screen"},
                         templates={"folder": SAMPLES / "templates", "warm_up": False},
                         endpoint=f"tcp://127.0.0.1:{_free_port()}", kb={"public_key": public, "folder": "station-kb"},
                         status={"file": "var/status.json"})
    config = load_config(tmp_path / "station.toml", check_secret=False)
    daemon = Daemon(config, source=Screen(cv2.imread(str(frames / "ct_dose" / "ct_dose_000_clean.png"))))
    release, rules_set, version = daemon.kb.current()
    assert version == 1 and rules_set is not None and release == store.path(1)
    state = store.state()
    assert state.current == 1 and state.refused == 2 and "rules.yaml" in state.refused_reason
    # a [kb] public key that is not there: one line naming the key, exit 2
    (tmp_path / "station.toml").write_text((tmp_path / "station.toml").read_text().replace(str(public), "nokey.pub"))
    assert main(["run", "--config", str(tmp_path / "station.toml")]) == 2
