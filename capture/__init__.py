"""Frame sources and frame-level signal analysis (change, settle, no-signal).

`capture` imports no other qcedge package.
"""
from capture.frame import Frame
from capture.source import FrameSource, SourceError

__all__ = ["Frame", "FrameSource", "SourceError"]
