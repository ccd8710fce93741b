"""Network streams (as HDMI encoders send) and the device path, on local ffmpeg streams."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from qcedge.capture import ChangeDetector, DeviceSource, SourceError, StreamSource, open_source
from qcedge.capture.source import FrameSource

from capture_helpers import free_port

pytestmark = pytest.mark.slow


def open_retrying(source: FrameSource, timeout: float = 10.0) -> FrameSource:
    """Open a source whose sender may still be starting (TCP/HTTP listeners)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            source.open()
            return source
        except SourceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def assert_split_picture(image: np.ndarray) -> None:
    """The picture ffmpeg sends: blue left half, red right half, white square top-left."""
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    blue, red, white = image[150, 80].astype(int), image[150, 240].astype(int), image[35, 35].astype(int)
    assert np.abs(blue - (255, 0, 0)).max() < 40, blue
    assert np.abs(red - (0, 0, 255)).max() < 40, red
    assert white.min() > 215, white


def read_the_picture(source, count: int) -> list:
    """Read `count` frames, close the source, and check each shows the sender's picture."""
    try:
        frames = [source.read() for _ in range(count)]
    finally:
        source.close()
    for frame in frames:
        assert_split_picture(frame.image)
    return frames


def udp_url(port: int) -> str:
    return f"udp://127.0.0.1:{port}?overrun_nonfatal=1&fifo_size=5000000"


def test_udp_stream_delivers_the_senders_picture_and_a_static_picture_is_no_change(ffmpeg, picture_png):
    port = free_port(socket.SOCK_DGRAM)
    ffmpeg.stream_picture(picture_png, f"udp://127.0.0.1:{port}?pkt_size=1316")
    source = open_source(udp_url(port) + "#read_timeout=5")
    try:
        assert isinstance(source, StreamSource) and source.live
        detector = ChangeDetector()
        frames = [source.read() for _ in range(15)]
    finally:
        source.close()
    for frame in frames:
        assert_split_picture(frame.image)
    assert [f.index for f in frames] == list(range(15))
    assert all(b.t >= a.t for a, b in zip(frames, frames[1:]))
    changes = [detector.check(f).changed for f in frames]
    assert changes[0] is True and not any(changes[1:]), "encoder noise on a still picture counted as change"


@pytest.mark.parametrize("protocol", ["tcp", "http"])
def test_tcp_and_http_streams(ffmpeg, picture_png, protocol):
    port = free_port()
    if protocol == "tcp":
        ffmpeg.stream_picture(picture_png, f"tcp://127.0.0.1:{port}?listen=1")
        url = f"tcp://127.0.0.1:{port}"
    else:
        ffmpeg.stream_picture(picture_png, f"http://127.0.0.1:{port}/hdmi.ts", "mpegts", "-listen", "1")
        url = f"http://127.0.0.1:{port}/hdmi.ts"
    read_the_picture(open_retrying(StreamSource(url, open_timeout=5, read_timeout=5)), 5)


def test_rtsp_stream_with_ffmpeg_options_from_the_spec(ffmpeg, picture_png):
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/live"
    # OpenCV listens (rtsp_flags=listen, an FFmpeg option given after '#'); ffmpeg pushes once it listens.
    sender = threading.Timer(1.0, lambda: ffmpeg.stream_picture(picture_png, url, "rtsp"))
    sender.start()
    try:
        source = open_source(f"{url}#rtsp_flags=listen&listen_timeout=15&open_timeout=20")
    finally:
        sender.join()
    assert source.options == {"rtsp_flags": "listen", "listen_timeout": "15"}
    read_the_picture(source, 3)


def test_a_stalled_stream_raises_source_error_within_the_read_timeout(ffmpeg, picture_png):
    port = free_port(socket.SOCK_DGRAM)
    sender = ffmpeg.stream_picture(picture_png, f"udp://127.0.0.1:{port}?pkt_size=1316")
    source = StreamSource(udp_url(port), read_timeout=1.5)
    source.open()
    try:
        assert source.read() is not None
        ffmpeg.stop(sender)
        with pytest.raises(SourceError):
            for _ in range(200):  # frames already buffered drain first
                source.read()
    finally:
        source.close()


def test_the_device_code_path_with_mode_settings_on_a_live_stream(ffmpeg, picture_png):
    """DeviceSource minus the V4L2 backend (no /dev/video here): same settings, mode report and latest-frame read."""
    port = free_port(socket.SOCK_DGRAM)
    ffmpeg.stream_picture(picture_png, f"udp://127.0.0.1:{port}?pkt_size=1316")
    source = DeviceSource(udp_url(port), backend="ffmpeg", width=1920, height=1080, fps=30, fourcc="MJPG")
    source.open()
    try:
        frames = [source.read() for _ in range(5)]
        # a stream does not take a mode: the device path reports what it really delivers
        assert source.mode["width"] == 320 and source.mode["height"] == 240
    finally:
        source.close()
    for frame in frames:
        assert_split_picture(frame.image)
        assert frame.source_id == f"device:{udp_url(port)}"


def test_missing_capture_devices_fail_clearly():
    with pytest.raises(SourceError, match=r"/dev/video97 .* does not exist; video devices present"):
        open_source("device:/dev/video97")
    with pytest.raises(SourceError, match=r"capture device 97 \(/dev/video97\) does not exist"):
        open_source("device:97")
    # a path that exists but is no capture device: OpenCV refuses it
    with pytest.raises(SourceError, match="cannot open capture device /dev/null"):
        open_source("device:/dev/null")


@pytest.mark.display
def test_hdmi_stand_in_a_value_changed_on_screen_is_seen_through_the_encoder(xvfb, ffmpeg):
    """Screen -> x11grab -> H.264 over UDP -> StreamSource -> change and settle detection."""
    from qcedge.capture import SettleDetector

    from capture_helpers import XWindow, wait_until

    window = XWindow(300, 200, 640, 360, (235, 235, 235))
    try:
        window.text(40, 60, "CTDIvol  12.34 mGy")
        window.text(40, 90, "DLP      456.7 mGy*cm")
        port = free_port(socket.SOCK_DGRAM)
        ffmpeg.start("-f", "x11grab", "-draw_mouse", "0", "-framerate", "10", "-video_size", "640x360",
                     "-i", f"{xvfb.name}+300,200", "-t", "60", "-c:v", "libx264", "-preset", "ultrafast",
                     "-tune", "zerolatency", "-g", "20", "-pix_fmt", "yuv420p", "-f", "mpegts",
                     f"udp://127.0.0.1:{port}?pkt_size=1316")
        source = StreamSource(udp_url(port), read_timeout=5)
        source.open()
        settle = SettleDetector(frames=3)
        try:
            wait_until(lambda: source.read().image[180, 320].min() > 200, 10)  # the window is on the stream
            before = [settle.update(source.read()) for _ in range(8)]
            window.text(40, 90, "DLP      458.7 mGy*cm")
            after: list = []
            # the one-digit change must come through the encoder (wait_until fails after 10 s otherwise)
            wait_until(lambda: after.append(settle.update(source.read())) or after[-1].changed, 10)
            after += [settle.update(source.read()) for _ in range(5)]
        finally:
            source.close()
    finally:
        window.close()
    assert sum(u.settled for u in before) == 1 and not any(u.changed for u in before[3:])
    assert len(after) <= 30  # seen within a few frames (10 fps), not by chance much later
    assert sum(u.settled for u in after) == 1
