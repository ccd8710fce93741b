"""Helpers for the capture tests: test pictures, video files, local ffmpeg streams."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

FFMPEG = shutil.which("ffmpeg")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def console_screen(values: dict[str, str], size: tuple[int, int] = (1280, 720), title: str = "CT Dose Report",
                   offset: int = 0) -> np.ndarray:
    """A simulated console screen: title bar, panel, label/value lines (BGR)."""
    w, h = size
    img = np.full((h, w, 3), (236, 233, 228), np.uint8)
    cv2.rectangle(img, (0, 0), (w, 28), (130, 80, 20), -1)
    cv2.putText(img, title, (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.rectangle(img, (20 + offset, 50), (w - 20, h - 40), (255, 255, 255), -1)
    cv2.rectangle(img, (20 + offset, 50), (w - 20, h - 40), (160, 160, 160), 1)
    y = 90
    for label, value in values.items():
        cv2.putText(img, label, (40 + offset, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(img, value, (220 + offset, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        y += 28
    cv2.rectangle(img, (0, h - 24), (w, h), (200, 200, 200), -1)
    return img


def no_signal_screen(kind: str, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """What capture cards show without input: black, or blue with a caption."""
    w, h = size
    if kind == "black":
        return np.zeros((h, w, 3), np.uint8)
    img = np.full((h, w, 3), (200, 40, 10), np.uint8)  # BGR blue
    cv2.putText(img, "NO SIGNAL", (w // 2 - 110, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    return img


def split_picture(size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """Left half blue, right half red, a white square top-left: easy to check after encoding."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : w // 2] = (255, 0, 0)
    img[:, w // 2:] = (0, 0, 255)
    img[10:60, 10:60] = (255, 255, 255)
    return img


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0, fourcc: str = "FFV1") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"cannot write {fourcc} video"
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def numbered_frames(n: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """Frames that differ everywhere, with noise, so a swapped or dropped frame shows."""
    rng = np.random.default_rng(7)
    w, h = size
    frames = []
    for i in range(n):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        cv2.putText(img, str(i), (20, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        frames.append(img)
    return frames


class FFmpegProcs:
    """Starts ffmpeg processes; all are killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        assert FFMPEG, "ffmpeg is not installed"
        log = open(self.tmp / f"ffmpeg{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([FFMPEG, "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def stream_picture(self, picture: Path, url: str, fmt: str = "mpegts", *extra: str) -> subprocess.Popen[bytes]:
        """Send a still picture as live 25 fps video (for at most 60 s) to url."""
        return self.start("-re", "-loop", "1", "-framerate", "25", "-i", str(picture), "-t", "60",
                          "-c:v", "mpeg2video", "-q:v", "2", "-g", "5", "-pix_fmt", "yuv420p",
                          *extra, "-f", fmt, url)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)




def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> object:
    """Poll predicate until it is truthy (returned) or the timeout passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class XWindow:
    """A real X client: an override-redirect window of one colour, with optional text.

    Uses python-xlib on $DISPLAY (the Xvfb fixture), so what ScreenSource grabs
    was drawn by the X server itself.
    """

    def __init__(self, x: int, y: int, w: int, h: int, rgb: tuple[int, int, int]) -> None:
        from Xlib import X, display

        self._X = X
        self.d = display.Display()
        screen = self.d.screen()
        self.rgb = rgb
        self.win = screen.root.create_window(
            x, y, w, h, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
            background_pixel=self.pixel(rgb), override_redirect=True)
        self.win.map()
        self.d.sync()
        self.font = self.d.open_font("fixed")

    @staticmethod
    def pixel(rgb: tuple[int, int, int]) -> int:
        r, g, b = rgb
        return (r << 16) | (g << 8) | b

    def fill(self, rgb: tuple[int, int, int]) -> None:
        self.rgb = rgb
        self.win.change_attributes(background_pixel=self.pixel(rgb))
        self.win.clear_area()
        self.d.sync()

    def text(self, x: int, y: int, text: str, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        gc = self.win.create_gc(foreground=self.pixel(rgb), background=self.pixel(self.rgb), font=self.font)
        self.win.image_text(gc, x, y, text.encode())
        gc.free()
        self.d.sync()

    def close(self) -> None:
        self.win.destroy()
        self.d.sync()
        self.d.close()
