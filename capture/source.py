"""The frame-source interface that every source implements."""
from __future__ import annotations

import abc
from collections.abc import Iterator

from qcedge.capture.errors import SourceError
from qcedge.capture.frame import Frame

__all__ = ["FrameSource", "SourceError"]


class FrameSource(abc.ABC):
    """A source of frames: screen, capture device, stream, file, folder, DICOM.

    Use as a context manager or call `open()`/`close()`. `read()` returns the
    next frame, or None at the end of a finite source; it raises SourceError
    when the source fails (the caller decides whether to reconnect).

    Implementations in this package make `open()` idempotent and allow
    `open()` again after `close()` (that is how `ReconnectingSource` reopens).
    """

    source_id: str = "source"
    #: True for real-time sources (screen, device, stream): frames come at the
    #: input's pace, a frame not read is gone, and they never end on their own.
    #: False for recorded ones (file, folder, DICOM): every frame in order, and
    #: unless looped read() ends with None.
    live: bool = True

    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def read(self) -> Frame | None: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "FrameSource":
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame
