"""Every error qcedge raises on purpose, and what the command line makes of it.

Each part has one root error, in its `errors` module; everything the part raises on purpose
derives from it, so a caller can catch one part's errors with one clause (as with httpx.HTTPError
or pydicom's InvalidDicomError):

    part                    root                                    module
    qcedge (the CLI, config) QcedgeError                            qcedge.errors
    capture                 CaptureError                            qcedge.capture.errors
    ocr_templates           OcrError                                qcedge.ocr_templates.errors
    rpa_flows               RpaError                                qcedge.rpa_flows.errors
    connectors              ConnectorError                          qcedge.connectors.errors
    qc_client               QcClientError                           qcedge.qc_client.errors
    central                 CentralError                            qcedge.central.errors
    teaching_mode           TeachError                              qcedge.teaching_mode.errors

Below each root, an error is one of two kinds, told by a second base class:
- bad input a person can fix (a template, flow, config, key, rules or DICOM file, a source, an
  argument, a data file this version cannot use): it also derives from ValueError (or
  LookupError); the command exits with 2;
- a failed operation (a peer refused, a store is down, a step did not happen): any other; exit 1.

`qcedge.cli.main` prints either as one line, `qcedge COMMAND: message`. Anything else is an
internal error: one line that says where the full trace was written, exit 3.
"""
from __future__ import annotations

import importlib
from typing import Final

# exit codes of the `qcedge` command (documented in the README)
OK: Final = 0
FAILED: Final = 1
BAD_INPUT: Final = 2
INTERNAL: Final = 3
INTERRUPTED: Final = 130

ROOTS: Final = {
    "qcedge": "qcedge.errors:QcedgeError",
    "capture": "qcedge.capture.errors:CaptureError",
    "ocr_templates": "qcedge.ocr_templates.errors:OcrError",
    "rpa_flows": "qcedge.rpa_flows.errors:RpaError",
    "connectors": "qcedge.connectors.errors:ConnectorError",
    "qc_client": "qcedge.qc_client.errors:QcClientError",
    "central": "qcedge.central.errors:CentralError",
    "teaching_mode": "qcedge.teaching_mode.errors:TeachError",
}

# Path problems with a file or folder the user named are bad input too.
_BAD_PATH = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


ONE_LINE_MAX = 400


def one_line(text: str, limit: int = ONE_LINE_MAX) -> str:
    """A message on one line (newlines folded) and of sensible length."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class QcedgeError(Exception):
    """Root of the composition root's own errors (command line, station config, daemon wiring)."""


class UsageError(QcedgeError, ValueError):
    """Bad input on the command line or in a file it names: one line, exit code 2."""


class OperationFailed(QcedgeError):
    """A command's work could not be done (a service manager refused, a status file is unreadable): exit 1."""


def root(part: str) -> type[Exception]:
    """The root error class of a part (imports that part's errors module)."""
    module, _, name = ROOTS[part].partition(":")
    return getattr(importlib.import_module(module), name)


def is_ours(exc: BaseException) -> bool:
    """True for an error qcedge raises on purpose (a class of ours anywhere in its ancestry)."""
    return any(cls.__module__.split(".")[0] == "qcedge" and issubclass(cls, Exception)
               for cls in type(exc).__mro__)


def exit_code(exc: BaseException) -> int:
    """What `qcedge` exits with for an exception that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if is_ours(exc):
        return BAD_INPUT if isinstance(exc, (ValueError, LookupError)) else FAILED
    if isinstance(exc, _BAD_PATH):
        return BAD_INPUT
    if isinstance(exc, OSError):
        return FAILED  # the machine said no (disk full, permission, a peer gone): not a bug of ours
    return INTERNAL
