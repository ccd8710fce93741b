"""Releases over the feed, real processes on loopback: a published release reaches every station, which
verifies, validates and switches to it; bad releases are refused by every station with the reason reported
to central while it keeps what it had; rollback needs no fetch; a station offline catches up; chunks resume."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qcedge.central.kb import KbCentral, build_release
from kbtools import ROOT, make_source, rewrite_bundle, station_state, wait_until
from qcedge.qc_client.kb import sha256_file
from qcedge.cli import main

HERE = Path(__file__).parent
N_STATIONS = 5


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    return env


class Procs:
    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def start(self, *args) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE, text=True, env=_env(),
                             cwd=str(ROOT))
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        for p in self.procs:
            self.stop(p)


@pytest.fixture()
def procs():
    ps = Procs()
    yield ps
    ps.close()


def _smuggle(central_dir: Path, bundle: Path, version: int) -> None:
    """Put a bundle on offer without `publish` (which would refuse it): central compromised or altered on disk."""
    kb = KbCentral(central_dir)
    shutil.copyfile(bundle, central_dir / "releases" / f"{version}.tar")
    with kb._db:
        kb._db.execute("INSERT INTO kb_releases VALUES (?,?,?,?,?,?,?,?)",
                       (version, sha256_file(bundle), bundle.stat().st_size, "", "x", "{}", "", "now"))
        kb._db.execute("INSERT INTO kb_history (version, action, who, at) VALUES (?,?,?,?)", (version, "publish", "x", "now"))
    kb.close()


def test_release_reaches_stations_bad_ones_refused_rollback_and_catch_up(tmp_path, keys, procs, capsys):
    secret, public = keys
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    shutil.copyfile(public, central_dir / "kb.pub")
    central = procs.start(HERE / "central_proc.py", central_dir, tmp_path / "central.sqlite", "tcp://127.0.0.1:*")
    endpoint = central.stdout.readline().strip()
    assert endpoint.startswith("tcp://127.0.0.1:")
    folders = [tmp_path / f"st{i}" for i in range(N_STATIONS)]
    online = folders[:-1]  # the last one is offline until the end
    for i, folder in enumerate(online):
        procs.start(HERE / "station_proc.py", f"st-{i}", "north", endpoint, folder, public, 64 * 1024)

    def runs(version, which=online):
        return all(station_state(f).get("current") == version for f in which)

    # 1: a good release reaches every station (in many 64 KiB chunks) and each reports it to central
    src = make_source(tmp_path / "src1")
    b1 = build_release(src, tmp_path / "kb-1.tar", secret, version=1, who="qa")
    assert b1.stat().st_size > 3 * 64 * 1024
    assert main(["kb", "publish", str(b1), "--kb", str(central_dir), "--who", "qa"]) == 0
    wait_until(lambda: runs(1), what="release 1 on every station")
    for f in online:
        assert (f / "releases" / "1" / "templates" / "ct_dose_report.yaml").is_file()

    def central_sees(version=None, refused=None):
        kb = KbCentral(central_dir)
        try:
            rows = {r.station: r for r in kb.status()}
        finally:
            kb.close()
        ok = len(rows) == len(online)
        return ok and all((version is None or r.version == version) and (refused is None or r.refused == refused)
                          for r in rows.values()) and rows

    wait_until(lambda: central_sees(version=1), what="central to see release 1 everywhere")

    # 2: signed, but a template no longer matches its reference: refused by all, each keeps release 1
    src2 = make_source(tmp_path / "src2")
    shutil.copyfile(src2 / "templates" / "dr_exposure_panel.png", src2 / "templates" / "ct_dose_report.png")
    b2 = build_release(src2, tmp_path / "kb-2.tar", secret, version=2, who="qa")
    assert main(["kb", "publish", str(b2), "--kb", str(central_dir)]) == 0
    rows = wait_until(lambda: central_sees(version=1, refused=2), what="release 2 refused everywhere")
    assert all("ct_dose_report" in r.refused_reason and "reference" in r.refused_reason for r in rows.values())
    assert runs(1)

    # 3: one changed byte after signing (central's disk altered): refused by its hash
    b3 = rewrite_bundle(build_release(make_source(tmp_path / "src3"), tmp_path / "kb-3.tar", secret, version=3,
                                      who="qa"), tmp_path / "kb-3-bad.tar",
                        lambda n, d: d.replace(b"national", b"natiOnal", 1) if n == "rules.yaml" else d)
    _smuggle(central_dir, b3, 3)
    rows = wait_until(lambda: central_sees(version=1, refused=3), what="release 3 refused everywhere")
    assert all("SHA-256" in r.refused_reason for r in rows.values())

    # 4: a good new release is applied; the status command shows it
    b4 = build_release(make_source(tmp_path / "src4", rules_extra="\n# v4\n"), tmp_path / "kb-4.tar", secret,
                       version=4, who="qa")
    assert main(["kb", "publish", str(b4), "--kb", str(central_dir)]) == 0
    wait_until(lambda: runs(4), what="release 4 on every station")
    wait_until(lambda: central_sees(version=4), what="central to see release 4")
    capsys.readouterr()
    assert main(["kb", "status", "--kb", str(central_dir)]) == 0
    out = capsys.readouterr().out
    assert "current release: 4" in out and all(f"st-{i}" in out for i in range(len(online)))

    # 5: rollback goes back to the last release the stations ran (1, not the refused 2 and 3), from disk
    assert main(["kb", "rollback", "--kb", str(central_dir)]) == 0
    wait_until(lambda: runs(1), what="rollback to release 1")
    assert all(station_state(f).get("previous") == 4 for f in online)

    # 6: a station that was offline catches up with what central offers now
    procs.start(HERE / "station_proc.py", f"st-{N_STATIONS - 1}", "north", endpoint, folders[-1], public)
    wait_until(lambda: runs(1, folders), what="the late station to catch up")
    wait_until(lambda: len(KbCentral(central_dir).status()) == N_STATIONS, what="central to know the late station")


def test_fetch_resumes_after_a_restart_and_respects_the_size_limit(tmp_path, keys, procs):
    secret, public = keys
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    shutil.copyfile(public, central_dir / "kb.pub")
    bundle = build_release(make_source(tmp_path / "src"), tmp_path / "kb-7.tar", secret, version=7, who="qa")
    KbCentral(central_dir).publish(bundle, "qa")
    central = procs.start(HERE / "central_proc.py", central_dir, tmp_path / "c.sqlite", "tcp://127.0.0.1:*")
    endpoint = central.stdout.readline().strip()
    # a station that died half-way: its partial download is resumed, not started again
    folder = tmp_path / "st"
    (folder / "incoming").mkdir(parents=True)
    half = bundle.read_bytes()[: bundle.stat().st_size // 2]
    part = folder / "incoming" / f"7-{sha256_file(bundle)[:16]}.part"
    part.write_bytes(half)
    procs.start(HERE / "station_proc.py", "st-r", "north", endpoint, folder, public, 16 * 1024)
    wait_until(lambda: station_state(folder).get("current") == 7, what="the resumed release")
    assert not part.exists()
    # a station whose limit is below the release's size refuses it and says why
    small = tmp_path / "small"
    procs.start(HERE / "station_proc.py", "st-s", "north", endpoint, small, public, 16 * 1024, 10_000)
    wait_until(lambda: station_state(small).get("refused") == 7, what="the size refusal")
    assert "exceeds the limit" in station_state(small)["refused_reason"]
    assert station_state(small).get("current") is None
