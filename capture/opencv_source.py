"""OpenCV sources: capture device, network stream and video file.

All three share `OpenCVSource`: the same open, read, colour conversion and
close code. They differ only in the backend they ask for, the settings they
apply after opening, and what the end of the input means:

- `DeviceSource`: an HDMI capture card or webcam (V4L2 by default) by index or
  /dev/video path, with width/height/fps/FOURCC settings; live.
- `StreamSource`: a URL that FFmpeg reads (udp, tcp, http, rtsp, ... as HDMI
  encoders send); live.
- `VideoFileSource`: a recording; finite (or looped), optionally paced at the
  file's frame rate like a live source.

Live sources read in a background thread that keeps only the newest frame
(`latest=True`): a consumer slower than the input (a daemon at 5 fps on a
30 fps stream) then always gets the current picture instead of a growing
backlog, and a stalled input is noticed after `read_timeout` seconds.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from qcedge.capture.frame import Frame
from qcedge.capture.pacing import Pacer
from qcedge.capture.errors import SourceError, SourceSpecError
from qcedge.capture.source import FrameSource

log = logging.getLogger(__name__)

# OPENCV_FFMPEG_CAPTURE_OPTIONS is process-wide: opens that set it take turns.
_ENV_LOCK = threading.Lock()
_FFMPEG_OPTIONS = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

BACKENDS = {
    "any": cv2.CAP_ANY,
    "v4l2": cv2.CAP_V4L2,
    "ffmpeg": cv2.CAP_FFMPEG,
    "gstreamer": cv2.CAP_GSTREAMER,
}


_quiet_done = False


def quiet_opencv_warnings() -> None:
    """Lower OpenCV's own stderr logging to errors, once per process, unless
    OPENCV_LOG_LEVEL is set: a reconnect loop would otherwise print FFmpeg
    timeout warnings on every attempt, past our rate-limited logging."""
    global _quiet_done
    if _quiet_done or "OPENCV_LOG_LEVEL" in os.environ:
        return
    _quiet_done = True
    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # older builds
        pass


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A BGR uint8 H x W x 3 image from whatever a backend delivered."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1.0, float(image.max())))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


class OpenCVSource(FrameSource):
    """The shared cv2.VideoCapture code path (see the module docstring).

    target: device index, device path, URL or file path.
    backend: a key of BACKENDS.
    live: the input never ends on its own; a failed read raises SourceError.
    latest: read in a background thread, keep only the newest frame.
    open_timeout, read_timeout: seconds (FFmpeg backend; read_timeout also
        bounds the wait in latest mode).
    options: FFmpeg demuxer/protocol options ("rtsp_transport": "tcp", ...),
        passed through OPENCV_FFMPEG_CAPTURE_OPTIONS while opening.
    """

    def __init__(
        self,
        target: int | str,
        *,
        backend: str = "any",
        source_id: str | None = None,
        live: bool = True,
        latest: bool | None = None,
        open_timeout: float = 10.0,
        read_timeout: float = 5.0,
        options: dict[str, str] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown OpenCV backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if open_timeout <= 0 or read_timeout <= 0:
            raise ValueError("open_timeout and read_timeout must be positive")
        self.target = target
        self.backend = backend
        self.source_id = source_id or str(target)
        self.live = live
        self.latest = live if latest is None else latest
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.options = dict(options or {})
        self.dropped = 0  # frames the consumer never saw (latest mode)
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        # latest mode
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest: tuple[np.ndarray, float, float] | None = None
        self._seq = 0
        self._taken = 0
        self._error: str | None = None

    # -- hooks for subclasses -------------------------------------------------
    def _describe(self) -> str:
        return f"{self.source_id}"

    def _configure(self, cap: cv2.VideoCapture) -> None:
        """Apply settings after the capture opened (device modes)."""

    def _at_end(self) -> Frame | None:
        """A read failed or the input ended, in direct (non-latest) mode."""
        if self.live:
            raise SourceError(f"{self._describe()}: no frame (the input ended or failed)")
        return None

    # -- FrameSource -----------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._cap is not None

    @property
    def fps(self) -> float | None:
        """The frame rate the input reports, if it reports one."""
        if self._cap is None:
            return None
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        return float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None

    def open(self) -> None:
        if self._cap is not None:
            return
        self._check_target()
        quiet_opencv_warnings()
        cap = self._create_capture()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self._describe()}")
        try:
            self._configure(cap)
        except Exception:
            cap.release()
            raise
        self._cap = cap
        self._index = 0
        self._error = None
        self._latest = None
        self._seq = self._taken = 0
        if self.latest:
            # A fresh event per grabber: a previous grabber still blocked in a
            # read keeps its own (set) event and never touches the new state.
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._grab_loop, args=(cap, self._stop),
                                            name=f"capture:{self.source_id}", daemon=True)
            self._thread.start()
        log.info("opened %s", self._describe())

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self._describe()} is not open")
        if self.latest:
            return self._read_latest()
        ok, image = self._cap.read()
        if not ok or image is None:
            return self._at_end()
        return self._make_frame(image, time.monotonic(), time.time())

    def interrupt(self) -> None:
        """Wake a read() waiting for a frame in another thread (it raises SourceError)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        cap, self._cap = self._cap, None
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            # The grabber releases the capture itself when it ends; a read
            # blocked inside FFmpeg ends at the backend's read timeout.
            thread.join(self.read_timeout + 1.0)
            if thread.is_alive():
                log.warning("%s: grabber thread still blocked after close", self._describe())
        elif cap is not None:
            cap.release()

    # -- internals -------------------------------------------------------------
    def _check_target(self) -> None:
        pass

    def _create_capture(self) -> cv2.VideoCapture:
        api = BACKENDS[self.backend]
        params: list[int] = []
        if api in (cv2.CAP_FFMPEG, cv2.CAP_ANY) and not isinstance(self.target, int):
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout * 1000),
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000)]
        if not self.options:
            return cv2.VideoCapture(self.target, api, params)
        text = "|".join(f"{k};{v}" for k, v in self.options.items())
        with _ENV_LOCK:
            old = os.environ.get(_FFMPEG_OPTIONS)
            os.environ[_FFMPEG_OPTIONS] = text
            try:
                return cv2.VideoCapture(self.target, api, params)
            finally:
                if old is None:
                    os.environ.pop(_FFMPEG_OPTIONS, None)
                else:
                    os.environ[_FFMPEG_OPTIONS] = old

    def _make_frame(self, image: np.ndarray, t: float, wall: float, origin: str = "") -> Frame:
        frame = Frame(to_bgr(image), self.source_id, self._index, t, wall, origin)
        self._index += 1
        return frame

    def _grab_loop(self, cap: cv2.VideoCapture, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                ok, image = cap.read()
                with self._cond:
                    if stop.is_set():
                        break
                    if not ok or image is None:
                        self._error = "the input ended or stalled"
                        self._cond.notify_all()
                        break
                    self._latest = (image, time.monotonic(), time.time())
                    self._seq += 1
                    self._cond.notify_all()
        except Exception as exc:  # a backend error must not vanish with the thread
            with self._cond:
                if not stop.is_set():
                    self._error = f"capture failed: {exc}"
                    self._cond.notify_all()
        finally:
            cap.release()

    def _read_latest(self) -> Frame:
        deadline = time.monotonic() + self.read_timeout
        with self._cond:
            while self._seq == self._taken and self._error is None:
                if self._stop.is_set():
                    raise SourceError(f"{self._describe()}: closed while waiting for a frame")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SourceError(f"{self._describe()}: no frame for {self.read_timeout:g} s")
                self._cond.wait(remaining)
            if self._seq == self._taken:
                raise SourceError(f"{self._describe()}: {self._error}")
            image, t, wall = self._latest  # type: ignore[misc]
            self.dropped += self._seq - self._taken - 1
            self._taken = self._seq
        return self._make_frame(image, t, wall)


class DeviceSource(OpenCVSource):
    """A capture card or camera through OpenCV (V4L2 by default).

    device: index (0 -> /dev/video0) or a device path.
    width, height, fps, fourcc ("MJPG", "YUYV", ...): the mode to ask for; what
        the device actually gives is logged and kept in `mode` after open().
    """

    def __init__(self, device: int | str = 0, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None, fourcc: str | None = None, backend: str = "v4l2",
                 source_id: str | None = None, read_timeout: float = 5.0, open_timeout: float = 10.0,
                 latest: bool = True) -> None:
        if fourcc is not None and len(fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters (e.g. MJPG, YUYV), got {fourcc!r}")
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        super().__init__(device, backend=backend, source_id=source_id or f"device:{device}", live=True,
                         latest=latest, read_timeout=read_timeout, open_timeout=open_timeout)
        self.width, self.height, self.requested_fps, self.fourcc = width, height, fps, fourcc
        self.mode: dict[str, object] = {}

    def _describe(self) -> str:
        return f"capture device {self.target} ({self.backend})"

    def _check_target(self) -> None:
        path = None
        if isinstance(self.target, str) and self.target.startswith("/dev/"):
            path = Path(self.target)
        elif isinstance(self.target, int) and self.backend == "v4l2":
            path = Path(f"/dev/video{self.target}")
        if path is not None and not path.exists():
            present = sorted(str(p) for p in Path("/dev").glob("video*"))
            raise SourceSpecError(f"capture device {self.target} ({path}) does not exist; "
                              f"video devices present: {', '.join(present) or 'none'}")

    def _configure(self, cap: cv2.VideoCapture) -> None:
        # FOURCC first: many V4L2 drivers only offer large sizes in MJPG.
        wanted: list[tuple[str, int, float]] = []
        if self.fourcc:
            wanted.append(("fourcc", cv2.CAP_PROP_FOURCC, float(cv2.VideoWriter.fourcc(*self.fourcc))))
        if self.width:
            wanted.append(("width", cv2.CAP_PROP_FRAME_WIDTH, float(self.width)))
        if self.height:
            wanted.append(("height", cv2.CAP_PROP_FRAME_HEIGHT, float(self.height)))
        if self.requested_fps:
            wanted.append(("fps", cv2.CAP_PROP_FPS, float(self.requested_fps)))
        refused = [name for name, prop, value in wanted if not cap.set(prop, value)]
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue (ignored where unsupported)
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        self.mode = {
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": float(cap.get(cv2.CAP_PROP_FPS)),
            "fourcc": "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\0") if code else "",
        }
        if refused:
            log.warning("%s refused setting %s; it delivers %s", self._describe(), ", ".join(refused), self.mode)
        mismatch = [n for n, v in (("width", self.width), ("height", self.height)) if v and self.mode[n] != v]
        if mismatch:
            log.warning("%s: asked for %sx%s, got %sx%s", self._describe(), self.width, self.height,
                        self.mode["width"], self.mode["height"])
        else:
            log.info("%s mode %s", self._describe(), self.mode)


STREAM_SCHEMES = ("udp", "tcp", "http", "https", "rtsp", "rtsps", "rtmp", "rtp", "srt")


class StreamSource(OpenCVSource):
    """A network stream FFmpeg can read: udp://, tcp://, http://, rtsp://, ...

    The URL keeps its own FFmpeg query options (udp://...?fifo_size=...).
    `options` are FFmpeg AVOptions such as {"rtsp_transport": "tcp"}.
    """

    def __init__(self, url: str, *, open_timeout: float = 10.0, read_timeout: float = 5.0,
                 options: dict[str, str] | None = None, source_id: str | None = None,
                 latest: bool = True) -> None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in STREAM_SCHEMES:
            raise ValueError(f"not a stream URL: {url!r} (schemes: {', '.join(STREAM_SCHEMES)})")
        super().__init__(url, backend="ffmpeg", source_id=source_id or redact_url(url), live=True, latest=latest,
                         open_timeout=open_timeout, read_timeout=read_timeout, options=options)

    def _describe(self) -> str:
        return f"stream {self.source_id}"


class VideoFileSource(OpenCVSource):
    """A video file.

    pace: 0 = as fast as read() is called; 1 = at the file's frame rate, like a
        live source; 2 = twice as fast, and so on.
    loop: start again at the end instead of ending.
    """

    def __init__(self, path: str | os.PathLike[str], *, pace: float = 0.0, loop: bool = False,
                 source_id: str | None = None) -> None:
        if pace < 0:
            raise ValueError("pace must be 0 (unpaced) or a positive speed factor")
        self.path = Path(path)
        super().__init__(str(self.path), backend="ffmpeg", source_id=source_id or f"file:{self.path.name}",
                         live=False, latest=False)
        self.pace = pace
        self.loop = loop
        self._pacer: Pacer | None = None
        self.frame_count = 0

    def _describe(self) -> str:
        return f"video file {self.path}"

    def _check_target(self) -> None:
        if not self.path.is_file():
            raise SourceSpecError(f"video file {self.path} not found")

    def _configure(self, cap: cv2.VideoCapture) -> None:
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not fps or not np.isfinite(fps) or fps <= 0 or fps > 1000:
            fps = 25.0
            if self.pace:
                log.warning("%s reports no frame rate; pacing at 25 fps", self._describe())
        self._pacer = Pacer(fps * self.pace) if self.pace else None

    def read(self) -> Frame | None:
        if self._cap is None:
            raise SourceError(f"{self._describe()} is not open")
        pos = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES))
        ok, image = self._cap.read()
        if not ok or image is None:
            if not self.loop:
                return None
            if self._index == 0 or not self._rewind():
                raise SourceError(f"{self._describe()}: cannot loop (no frame at the start)")
            pos = 0
            ok, image = self._cap.read()
            if not ok or image is None:
                raise SourceError(f"{self._describe()}: cannot loop (no frame at the start)")
        if self._pacer:
            self._pacer.wait()
        return self._make_frame(image, time.monotonic(), time.time(), f"{self.path.name}#{pos}")

    def _rewind(self) -> bool:
        assert self._cap is not None
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == 0:
            return True
        # Some containers do not seek: reopen the file.
        self._cap.release()
        self._cap = None
        index = self._index
        try:
            self.open()
        except SourceError:
            return False
        self._index = index
        return True


def redact_url(url: str) -> str:
    """The URL without a password (user:pass@host -> user:***@host)."""
    if "://" not in url or "@" not in url.split("://", 1)[1].split("/", 1)[0]:
        return url
    scheme, rest = url.split("://", 1)
    auth, _, host = rest.partition("@")
    user = auth.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
