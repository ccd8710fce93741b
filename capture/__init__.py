"""Frame sources and frame-level signal analysis (change, settle, no-signal).

`capture` imports no other qcedge package.

    from capture import open_source, ReconnectingSource, SettleDetector
    with open_source("screen:1@0,0,800,600") as source:
        frame = source.read()
"""
from capture.change import Change, ChangeDetector
from capture.dicom_source import DicomSource, NotAnImageError
from capture.factory import make_source, open_source
from capture.folder import ImageFolderSource
from capture.frame import Frame
from capture.nosignal import NoSignalDetector, SignalCheck
from capture.opencv_source import DeviceSource, OpenCVSource, StreamSource, VideoFileSource
from capture.reconnect import Backoff, ReconnectingSource, ReconnectStats
from capture.screen import ScreenSource
from capture.settle import SettleDetector, SettleUpdate
from capture.source import FrameSource, SourceError
from capture.spec import SourceSpec
from capture.thumbnail import grey_thumbnail

__all__ = [
    "Backoff", "Change", "ChangeDetector", "DeviceSource", "DicomSource", "Frame", "FrameSource",
    "ImageFolderSource", "NoSignalDetector", "NotAnImageError", "OpenCVSource", "ReconnectStats",
    "ReconnectingSource", "ScreenSource", "SettleDetector", "SettleUpdate", "SignalCheck", "SourceError",
    "SourceSpec", "StreamSource", "VideoFileSource", "grey_thumbnail", "make_source", "open_source",
]
