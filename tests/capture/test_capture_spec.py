"""Source specs: the strings and config tables a station names its source with."""
from __future__ import annotations

import textwrap
import tomllib

import pytest
from pydantic import BaseModel

from qcedge.capture import (DeviceSource, DicomSource, ImageFolderSource, ReconnectingSource, ScreenSource, SourceError,
                            SourceSpec, StreamSource, VideoFileSource, make_source, open_source,
                            reconnecting_source)


@pytest.mark.parametrize("text, expected", [
    ("screen", {"kind": "screen", "monitor": 1, "region": None}),
    ("screen:0", {"kind": "screen", "monitor": 0}),
    ("screen:2", {"kind": "screen", "monitor": 2}),
    ("screen:0@100,100,800,600", {"kind": "screen", "monitor": 0, "region": (100, 100, 800, 600)}),
    ("screen@10,20,30,40?fps=5", {"kind": "screen", "monitor": 1, "region": (10, 20, 30, 40), "fps": 5.0}),
    ("device:0?width=1920&height=1080&fps=30&fourcc=MJPG",
     {"kind": "device", "device": 0, "width": 1920, "height": 1080, "fps": 30.0, "fourcc": "MJPG", "backend": "v4l2"}),
    ("device:/dev/video2", {"kind": "device", "device": "/dev/video2"}),
    ("file:rec/session.mp4?pace=1&loop=1", {"kind": "file", "path": "rec/session.mp4", "pace": 1.0, "loop": True}),
    ("folder:frames?fps=2", {"kind": "folder", "path": "frames", "fps": 2.0, "loop": False}),
    ("dicom:studies/sc.dcm", {"kind": "dicom", "path": "studies/sc.dcm"}),
    ("udp://127.0.0.1:5000?overrun_nonfatal=1&fifo_size=5000000",
     {"kind": "stream", "url": "udp://127.0.0.1:5000?overrun_nonfatal=1&fifo_size=5000000", "options": {}}),
    ("rtsp://encoder/live#rtsp_transport=tcp&read_timeout=3",
     {"kind": "stream", "url": "rtsp://encoder/live", "options": {"rtsp_transport": "tcp"}, "read_timeout": 3.0}),
    ("stream:http://10.0.0.5:8080/hdmi.ts", {"kind": "stream", "url": "http://10.0.0.5:8080/hdmi.ts"}),
    ("file:a.mp4?id=ct1&backoff_initial=0.5&backoff_max=8",
     {"id": "ct1", "backoff_initial": 0.5, "backoff_max": 8.0}),
])
def test_spec_strings_parse_to_the_documented_fields(text, expected):
    spec = SourceSpec.parse(text)
    for key, value in expected.items():
        assert getattr(spec, key) == value, key


@pytest.mark.parametrize("text, says", [
    ("", "empty source spec"),
    ("webcam:0", "unknown kind 'webcam'"),
    ("ftp://host/x", "unknown URL scheme 'ftp'"),
    ("screen:x", "monitor must be a number"),
    ("screen:1@1,2,3", "region must be x,y,w,h"),
    ("screen:1@0,0,0,10", "w,h > 0"),
    ("file:", "needs a path"),
    ("device:", "device index or path"),
    ("screen?loop=1", "loop does not apply to screen sources"),
    ("file:a.mp4?width=3", "width does not apply to file sources"),
    ("device:0?fourcc=MJ", "fourcc must be 4 characters"),
    ("device:0?foo=1", "unknown option foo for device sources"),
    ("device:0?backend=directshow", "backend must be one of"),
    ("file:a.mp4?pace=-1", "pace"),
    ("file:a.mp4?loop=perhaps", "loop"),
    ("folder:d?fps=0", "fps"),
    ("file:a.mp4?loop=1&loop=0", "given twice"),
    ("file:a.mp4?backoff_initial=10&backoff_max=2", "backoff_max must not be smaller"),
    ("stream:file.mp4", "stream: needs a URL"),
])
def test_bad_specs_raise_one_line_value_errors(text, says):
    with pytest.raises(ValueError) as info:
        SourceSpec.parse(text)
    message = str(info.value)
    assert says in message
    assert "\n" not in message
    assert message.startswith("bad source spec")


def test_the_factory_builds_the_named_source_kind(tmp_path):
    cases = {
        "screen:0@0,0,100,50": ScreenSource,
        "device:3?width=1280&height=720": DeviceSource,
        "udp://127.0.0.1:9?overrun_nonfatal=1": StreamSource,
        f"file:{tmp_path}/a.mp4": VideoFileSource,
        f"folder:{tmp_path}": ImageFolderSource,
        f"dicom:{tmp_path}": DicomSource,
    }
    for text, cls in cases.items():
        source = make_source(text)
        assert type(source) is cls, text
    screen = make_source("screen:0@0,0,100,50")
    assert (screen.monitor, screen.region, screen.source_id) == (0, (0, 0, 100, 50), "screen:0@0,0,100,50")
    device = make_source("device:3?width=1280&height=720&fourcc=YUYV")
    assert (device.target, device.width, device.height, device.fourcc, device.backend) == (3, 1280, 720, "YUYV", "v4l2")


def test_stream_ids_hide_passwords():
    source = make_source("rtsp://admin:secret@10.1.1.9/live")
    assert "secret" not in source.source_id
    assert source.source_id == "rtsp://admin:***@10.1.1.9/live"


def test_a_station_config_embeds_the_spec_as_string_or_table():
    class Station(BaseModel):
        station: str
        source: SourceSpec

    # the table the module's docstring shows, as a station config holds it
    import qcedge.capture.spec as spec_module

    example = spec_module.__doc__.split("[source]\n", 1)[1].split("\n\n", 1)[0]
    doc = tomllib.loads('station = "ct-1"\n[source]\n' + textwrap.dedent(example) + "\nbackoff_max = 16\n")
    spec = Station.model_validate(doc).source
    assert (spec.kind, spec.device, spec.width, spec.fourcc, spec.backoff_max) == ("device", "/dev/video0", 1920, "MJPG", 16)
    spec = Station.model_validate(tomllib.loads('station = "x"\nsource = "screen:1@0,0,800,600"')).source
    assert spec.region == (0, 0, 800, 600)
    with pytest.raises(ValueError, match="loop does not apply to device sources"):
        Station.model_validate(tomllib.loads('station = "x"\n[source]\nkind = "device"\nloop = true'))
    with pytest.raises(ValueError, match="a file source needs path"):
        Station.model_validate({"station": "x", "source": {"kind": "file"}})


def test_open_source_fails_clearly_for_a_missing_file(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        open_source(f"file:{tmp_path}/missing.mp4")
    with pytest.raises(SourceError, match="not found"):
        open_source(f"folder:{tmp_path}/nope")
    with pytest.raises(ValueError):
        open_source("nonsense")


def test_open_source_with_reconnect_does_not_raise_for_a_missing_file(tmp_path):
    source = open_source(f"file:{tmp_path}/later.mp4?backoff_initial=5&backoff_max=5", reconnect=True)
    try:
        assert isinstance(source, ReconnectingSource)
        assert source.stats.failures == 1
        assert "not found" in source.stats.last_error
        assert source.next_attempt_in > 0
    finally:
        source.stop()
        source.close()
    # A spec may forbid reconnecting: then the plain error comes through.
    with pytest.raises(SourceError, match="not found"):
        open_source(f"file:{tmp_path}/later.mp4?reconnect=0", reconnect=True)


def test_live_is_known_from_the_spec_before_the_source_ever_opens(tmp_path):
    assert [SourceSpec.parse(s).live for s in ("screen", "device:0", "udp://127.0.0.1:9")] == [True] * 3
    assert [SourceSpec.parse(s).live for s in ("file:a.mp4?loop=1", "folder:x", "dicom:y")] == [False] * 3
    missing = reconnecting_source(f"file:{tmp_path}/not_yet.mp4")
    assert missing.live is False
    for text in (f"file:{tmp_path}/not_yet.mp4", "udp://127.0.0.1:9"):
        assert reconnecting_source(text).live is SourceSpec.parse(text).live
