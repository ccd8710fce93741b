"""Central stopped again and again (SIGTERM, kill -9) while a station process submits without pause:
the station never aborts, nothing is lost or stored twice, each feedback is shown once.
(The 100-cycle run is benchmarks/bench_feed.py.)"""
from __future__ import annotations

import pytest

from chaos import run_chaos

pytestmark = pytest.mark.slow


def test_central_stopped_and_killed_repeatedly_while_a_station_submits(tmp_path):
    res = run_chaos(tmp_path, cycles=6, seed=12)
    assert not res.station_aborted, res.errors
    assert res.station_rc == 0, res.errors
    assert res.submitted > 100 and res.sigterms and res.kills
    assert (res.missing, res.doubled, res.wrong) == (0, 0, 0)
    assert res.stored == res.submitted and res.outbox_left == 0
    assert res.feedback_expected > 0
    assert (res.feedback_missing, res.feedback_repeated) == (0, 0)
