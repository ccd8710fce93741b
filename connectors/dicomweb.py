"""DICOMweb through the HTTP client: QIDO-RS searches and WADO-RS metadata (PS3.18).

Answers are DICOM JSON (PS3.18 F.2): a list of objects keyed by 8-hex-digit tags. Anything
else raises HttpGarbageError. `datasets()` turns them into pydicom Datasets.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Mapping

from pydicom.dataset import Dataset

from qcedge.connectors.errors import HttpGarbageError
from qcedge.connectors.http_client import HttpClient, parse_json

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
_TAG = re.compile(r"^[0-9A-Fa-f]{8}$")


def check_dicom_json(data: Any, url: str) -> list[dict[str, Any]]:
    """The list of DICOM JSON objects in `data`, or HttpGarbageError."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise HttpGarbageError(url, f"expected a DICOM JSON array, got {type(data).__name__}")
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            raise HttpGarbageError(url, f"item {i} of the DICOM JSON array is a {type(obj).__name__}, not an object")
        for key, value in obj.items():
            if not _TAG.match(key) or not isinstance(value, dict) or "vr" not in value:
                raise HttpGarbageError(url, f"item {i} is not DICOM JSON (key '{str(key)[:20]}')")
    return data


def datasets(objects: Iterable[Mapping[str, Any]]) -> list[Dataset]:
    """DICOM JSON objects as Datasets (bulk data left out)."""
    return [Dataset.from_json(dict(obj), bulk_data_uri_handler=lambda *a: b"") for obj in objects]


def value(obj: Mapping[str, Any], tag: str) -> Any:
    """The first value of `tag` ("0020000D") in a DICOM JSON object; a PN as its alphabetic form."""
    element = obj.get(tag.upper()) or obj.get(tag.lower())
    if not element or not element.get("Value"):
        return None
    first = element["Value"][0]
    if isinstance(first, dict) and "Alphabetic" in first:
        return first["Alphabetic"]
    return first


def _params(filters: Mapping[str, Any], includefield: Iterable[str] | None, limit: int | None, offset: int | None,
            fuzzy: bool) -> list[tuple[str, str]]:
    out = [(k, str(v)) for k, v in filters.items() if v is not None and v != ""]
    for f in includefield or ():
        out.append(("includefield", f))
    if limit is not None:
        out.append(("limit", str(limit)))
    if offset:
        out.append(("offset", str(offset)))
    if fuzzy:
        out.append(("fuzzymatching", "true"))
    return out


class DicomWebClient:
    """QIDO-RS and WADO-RS (metadata) against one DICOMweb root, e.g. http://pacs/dicom-web."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    def _get(self, path: str, params: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        response = self.http.get(path, params=params, headers={"Accept": DICOM_JSON})
        return check_dicom_json(parse_json(response), str(response.request.url.copy_with(query=None)))

    def search_studies(self, *, includefield: Iterable[str] | None = None, limit: int | None = None,
                       offset: int | None = None, fuzzy: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """QIDO-RS /studies with attribute filters such as PatientID="P1", StudyDate="20260101-"."""
        return self._get("studies", _params(filters, includefield, limit, offset, fuzzy))

    def search_series(self, study_uid: str | None = None, *, includefield: Iterable[str] | None = None,
                      limit: int | None = None, offset: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        path = f"studies/{study_uid}/series" if study_uid else "series"
        return self._get(path, _params(filters, includefield, limit, offset, False))

    def search_instances(self, study_uid: str | None = None, series_uid: str | None = None, *,
                         includefield: Iterable[str] | None = None, limit: int | None = None,
                         offset: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        if study_uid and series_uid:
            path = f"studies/{study_uid}/series/{series_uid}/instances"
        elif study_uid:
            path = f"studies/{study_uid}/instances"
        else:
            path = "instances"
        return self._get(path, _params(filters, includefield, limit, offset, False))

    def retrieve_metadata(self, study_uid: str, series_uid: str | None = None,
                          instance_uid: str | None = None) -> list[dict[str, Any]]:
        """WADO-RS metadata of a study, a series or one instance."""
        path = f"studies/{study_uid}"
        if series_uid:
            path += f"/series/{series_uid}"
            if instance_uid:
                path += f"/instances/{instance_uid}"
        return self._get(path + "/metadata")
