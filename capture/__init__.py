"""Frame sources and frame-level signal analysis (change, settle, no-signal).

`capture` imports no other qcedge package.

    from qcedge.capture import open_source, ReconnectingSource, SettleDetector
    with open_source("screen:1@0,0,800,600") as source:
        frame = source.read()
"""
from qcedge.capture.change import Change, ChangeDetector
from qcedge.capture.dicom_source import DicomSource
from qcedge.capture.errors import CaptureError, NotAnImageError, SourceError, SourceSpecError
from qcedge.capture.factory import make_source, open_source, reconnecting_source
from qcedge.capture.folder import ImageFolderSource
from qcedge.capture.frame import Frame
from qcedge.capture.nosignal import NoSignalDetector, SignalCheck
from qcedge.capture.opencv_source import DeviceSource, OpenCVSource, StreamSource, VideoFileSource
from qcedge.capture.reconnect import Backoff, ReconnectingSource, ReconnectStats
from qcedge.capture.screen import ScreenSource
from qcedge.capture.settle import SettleDetector, SettleUpdate
from qcedge.capture.source import FrameSource
from qcedge.capture.spec import SourceSpec
from qcedge.capture.thumbnail import grey_thumbnail

__all__ = [
    "Backoff", "CaptureError", "Change", "ChangeDetector", "DeviceSource", "DicomSource", "Frame", "FrameSource",
    "ImageFolderSource", "NoSignalDetector", "NotAnImageError", "OpenCVSource", "ReconnectStats",
    "ReconnectingSource", "ScreenSource", "SettleDetector", "SettleUpdate", "SignalCheck", "SourceError",
    "SourceSpec", "SourceSpecError", "StreamSource", "VideoFileSource", "grey_thumbnail", "make_source", "open_source",
    "reconnecting_source",
]
