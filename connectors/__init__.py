"""Direct interfaces beside OCR: DICOM files and network (pydicom, pynetdicom), a standard CT dose
report (RDSR) from a dose-screen record, HTTP and DICOMweb (httpx), and vendor parsers found
through the entry-point group `qcedge.connectors`. Imports only `qc_client` of our packages.

The public API is importable from here (`from qcedge.connectors import read_dicom, send`); the
errors load at once, everything else on first use, so `import qcedge.connectors` stays light
(pydicom, pynetdicom and httpx load only when a name that needs them is used).

See docs/connectors.md.
"""
from __future__ import annotations

import importlib
from typing import Any

from qcedge.connectors.errors import (
    ConnectorConfigError, ConnectorError, DicomNetworkError, DicomQueryError, DicomReadError, DicomSendError,
    HttpConnectError, HttpError, HttpGarbageError, HttpStatusError, HttpTimeout, PluginError, RdsrError,
    TlsConfigError, UnknownSopClassError,
)

# public name -> the module (under qcedge.connectors) that defines it
_LAZY: dict[str, str] = {
    **dict.fromkeys(("DicomReading", "classify", "read_dataset", "read_dicom", "reading_from_dataset",
                     "record_from_dataset", "screen_image"), "dicom_files"),
    **dict.fromkeys(("CtEvent", "DoseReport", "dose_fields", "is_dose_report", "read_dose_report"), "dose_sr"),
    **dict.fromkeys(("DeviceObserver", "DoseFieldMap", "ReportingStation", "StudyContext", "build_ct_rdsr",
                     "write_rdsr"), "rdsr"),
    **dict.fromkeys(("Peer", "parse_peer"), "peer"),
    **dict.fromkeys(("SendResult", "Timeouts", "associate", "echo", "send"), "dicom_net"),
    **dict.fromkeys(("Fill", "StudyMatch", "WorklistItem", "accession_for", "c_find", "find_studies",
                     "find_worklist"), "query"),
    **dict.fromkeys(("Receiver", "ReceiverConfig", "StoredObject"), "receiver"),
    **dict.fromkeys(("client_context", "server_context"), "tls"),
    **dict.fromkeys(("BearerAuth", "HttpClient", "make_auth", "parse_json"), "http_client"),
    **dict.fromkeys(("DicomWebClient",), "dicomweb"),
    **dict.fromkeys(("DicomParser", "LoadedPlugin", "dicom_parsers", "load_plugins"), "plugins"),
    **dict.fromkeys(("Code",), "sr_codes"),
}

__all__ = [
    "ConnectorConfigError", "ConnectorError", "DicomNetworkError", "DicomQueryError", "DicomReadError",
    "DicomSendError", "HttpConnectError", "HttpError", "HttpGarbageError", "HttpStatusError", "HttpTimeout",
    "PluginError", "RdsrError", "TlsConfigError", "UnknownSopClassError", *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once; later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
