"""Errors of the direct interfaces. `str()` of each is a message for a person."""
from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error raised by `connectors`."""


class DicomReadError(ConnectorError):
    """A file that is not DICOM, is truncated or cannot be decoded."""

    def __init__(self, source: str, problem: str) -> None:
        # one line always: decoders' messages carry newlines, file names may too
        self.source, self.problem = " ".join(str(source).split()), " ".join(str(problem).split())
        super().__init__(f"{self.source}: {self.problem}")


class UnknownSopClassError(ConnectorError):
    """A DICOM object whose SOP class neither the kit nor any plugin knows."""

    def __init__(self, source: str, sop_class_uid: str) -> None:
        self.source, self.sop_class_uid = str(source), sop_class_uid
        super().__init__(
            f"{source}: SOP class {sop_class_uid or '(missing)'} is not a standard storage class and no "
            "plugin accepts it (add a parser through the 'qcedge.connectors' entry points)"
        )


class DicomNetworkError(ConnectorError):
    """A DICOM peer that cannot be reached, rejects the association or aborts it."""


class DicomQueryError(DicomNetworkError):
    """A C-FIND that the peer answered with a failure status."""


class DicomSendError(DicomNetworkError):
    """A C-STORE that the peer did not accept."""


class RdsrError(ConnectorError):
    """A record that cannot be turned into a dose report (missing or invalid dose values)."""


class HttpError(ConnectorError):
    """Base of the HTTP client's errors; `url` says which request failed."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class HttpTimeout(HttpError):
    """The server accepted the connection but did not answer in time."""


class HttpConnectError(HttpError):
    """The server could not be reached (refused, unreachable, name unknown)."""


class HttpStatusError(HttpError):
    """The server answered with an error status."""

    def __init__(self, url: str, status: int, excerpt: str) -> None:
        self.status, self.excerpt = status, excerpt
        super().__init__(url, f"HTTP {status}" + (f": {excerpt}" if excerpt else ""))


class HttpGarbageError(HttpError):
    """The server answered something that is not what the protocol promises."""


class PluginError(ConnectorError):
    """A plugin that cannot be loaded or misbehaves."""
