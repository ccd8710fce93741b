"""Errors of the direct interfaces. `str()` of each is a message for a person.

Two kinds below the root `ConnectorError` (see qcedge.errors):
- bad input a person can fix also derives from ValueError: a DICOM file that cannot be read
  (DicomReadError), an unknown SOP class, a setting that cannot be used (ConnectorConfigError,
  TlsConfigError), a record that gives no dose report (RdsrError), a broken plugin (PluginError);
- a failed operation derives from the root only: a DICOM peer that cannot be reached, rejects
  or refuses (DicomNetworkError and below), an HTTP request that failed (HttpError and below).
"""
from __future__ import annotations

import re

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def scrubbed(exc: BaseException) -> str:
    """An exception's type and text with quoted values taken out (they may be patient data), for
    the messages of our errors about a file."""
    return _QUOTED.sub("'...'", f"{type(exc).__name__}: {exc}")[:300]


class ConnectorError(Exception):
    """Base of every error raised by `connectors`."""


class ConnectorConfigError(ConnectorError, ValueError):
    """A setting that cannot be used: an AE title, a peer address, a port, a timeout, an allowed
    host, a character set, a dose field mapping."""


class TlsConfigError(ConnectorConfigError):
    """A certificate, key or CA file that cannot be used; the message names the file."""


class DicomReadError(ConnectorError, ValueError):
    """A file that is not DICOM, is truncated or cannot be decoded."""

    def __init__(self, source: str, problem: str) -> None:
        # one line always: decoders' messages carry newlines, file names may too
        self.source, self.problem = " ".join(str(source).split()), " ".join(str(problem).split())
        super().__init__(f"{self.source}: {self.problem}")


class UnknownSopClassError(ConnectorError, ValueError):
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


class RdsrError(ConnectorError, ValueError):
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


class PluginError(ConnectorError, ValueError):
    """A plugin that cannot be loaded or misbehaves."""
