"""Build frame sources from specs: `make_source` (not opened), `reconnecting_source`, `open_source`."""
from __future__ import annotations

import threading
from typing import Any

from qcedge.capture.dicom_source import DicomSource
from qcedge.capture.folder import ImageFolderSource
from qcedge.capture.opencv_source import DeviceSource, StreamSource, VideoFileSource
from qcedge.capture.reconnect import ReconnectingSource
from qcedge.capture.screen import ScreenSource
from qcedge.capture.source import FrameSource
from qcedge.capture.spec import SourceSpec, as_spec


def make_source(spec: SourceSpec | str | dict[str, Any]) -> FrameSource:
    """The source a spec names, not yet opened. Bad specs raise SourceSpecError (a ValueError)."""
    spec = as_spec(spec)
    sid = spec.source_id
    if spec.kind == "screen":
        return ScreenSource(spec.monitor, spec.region, fps=spec.fps, source_id=sid)
    if spec.kind == "device":
        return DeviceSource(spec.device, width=spec.width, height=spec.height, fps=spec.fps, fourcc=spec.fourcc,
                            backend=spec.backend, source_id=sid, open_timeout=spec.open_timeout,
                            read_timeout=spec.read_timeout)
    if spec.kind == "stream":
        assert spec.url
        return StreamSource(spec.url, open_timeout=spec.open_timeout, read_timeout=spec.read_timeout,
                            options=spec.options, source_id=sid)
    assert spec.path
    if spec.kind == "file":
        return VideoFileSource(spec.path, pace=spec.pace, loop=spec.loop, source_id=sid)
    if spec.kind == "folder":
        return ImageFolderSource(spec.path, fps=spec.fps, loop=spec.loop, source_id=sid)
    if spec.kind == "dicom":
        return DicomSource(spec.path, fps=spec.fps, loop=spec.loop, source_id=sid)
    raise ValueError(f"unknown source kind {spec.kind!r}")  # unreachable: the model checks kinds


def reconnecting_source(spec: SourceSpec | str | dict[str, Any], *, stop: threading.Event | None = None,
                        max_failures: int | None = None, initial: float | None = None,
                        maximum: float | None = None) -> ReconnectingSource:
    """A ReconnectingSource over the source a spec names, with the spec's backoff (unless given here)."""
    spec = as_spec(spec)
    return ReconnectingSource(lambda: make_source(spec), stop=stop, max_failures=max_failures,
                              initial=spec.backoff_initial if initial is None else initial,
                              maximum=spec.backoff_max if maximum is None else maximum,
                              source_id=spec.source_id, live=spec.live)


def open_source(spec: SourceSpec | str | dict[str, Any], *, reconnect: bool = False,
                stop: threading.Event | None = None) -> FrameSource:
    """Make the source a spec names and open it.

    reconnect=False: the plain source; open failures raise SourceError.
    reconnect=True: a ReconnectingSource with the spec's backoff policy (if the
        spec allows reconnecting); it never raises for a failing source but keeps
        trying, and ends waits promptly when `stop` is set.
    Bad specs raise SourceSpecError (a ValueError) either way.
    """
    spec = as_spec(spec)
    if reconnect and spec.reconnect:
        source: FrameSource = reconnecting_source(spec, stop=stop)
    else:
        source = make_source(spec)
    source.open()
    return source
