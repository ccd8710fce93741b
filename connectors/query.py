"""C-FIND queries: the modality worklist and the study root, to fill in what a screen lacks
(above all the accession number for a patient and an exam time)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple, TypedDict, Unpack

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.valuerep import DA, TM
from pynetdicom import _config
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from qcedge.connectors.dicom_net import DEFAULT_CALLING_AET, Timeouts, associate
from qcedge.connectors.errors import ConnectorConfigError, DicomNetworkError, DicomQueryError
from qcedge.connectors.peer import Peer
from qcedge.connectors.sr_codes import Code

log = logging.getLogger(__name__)

Model = Literal["worklist", "study", "patient"]
_MODELS = {
    "worklist": ModalityWorklistInformationFind,
    "study": StudyRootQueryRetrieveInformationModelFind,
    "patient": PatientRootQueryRetrieveInformationModelFind,
}
_PENDING = (0xFF00, 0xFF01)
_CANCELLED = 0xFE00
DEFAULT_CHARSET = "ISO_IR 192"  # UTF-8: what Chinese sites use (and "GB18030")
CHARSETS = ("ISO_IR 192", "GB18030", "ISO_IR 100", "ISO_IR 6")


def _read_as(ds: Dataset, charset: str, *, top: bool = True) -> None:
    """A match that does not say its character set is read in the one we asked in."""
    from pydicom.charset import convert_encodings

    if top:
        ds.SpecificCharacterSet = charset
    implicit, little = ds.original_encoding
    ds.set_original_encoding(implicit, little, convert_encodings([charset]))
    for item in ds:  # sequence items too
        if item.VR == "SQ":
            for sub in item.value:
                _read_as(sub, charset, top=False)


def _with_charset(identifier: Dataset, charset: str | None) -> Dataset:
    """The query with Specific Character Set, so that non-ASCII values ('张*') go out as what
    they are and the peer knows how to read them."""
    if charset is None:
        return identifier
    if charset not in CHARSETS:
        raise ConnectorConfigError(f"character set '{charset}' is not one of {', '.join(CHARSETS)}")
    q = Dataset()
    q.SpecificCharacterSet = charset
    for element in identifier:
        if element.keyword != "SpecificCharacterSet":
            q.add(element)
    return q


def c_find(
    peer: Peer,
    identifier: Dataset,
    model: Model = "study",
    *,
    calling_aet: str = DEFAULT_CALLING_AET,
    tls: Any = None,
    timeouts: Timeouts | None = None,
    limit: int = 1000,
    charset: str | None = DEFAULT_CHARSET,
) -> list[Dataset]:
    """Run one C-FIND and return the matches (at most `limit`; then the query is cancelled).

    The query carries Specific Character Set `charset` (None: as given). A match without one
    is read in `charset` (peers that answer UTF-8 without saying so)."""
    abstract = _MODELS[model]
    identifier = _with_charset(identifier, charset)
    # pynetdicom would log every identifier (patient data) and, doing so, decode its text before
    # we know its character set
    _config.LOG_REQUEST_IDENTIFIERS = _config.LOG_RESPONSE_IDENTIFIERS = False
    matches: list[Dataset] = []
    with associate(peer, [(abstract, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])],
                   calling_aet=calling_aet, timeouts=timeouts, tls=tls) as assoc:
        final: int | None = None
        for status, found in assoc.send_c_find(identifier, abstract):
            if not status:
                raise DicomNetworkError(f"{peer} gave no C-FIND response (connection lost or timed out)")
            code = int(status.Status)
            if code in _PENDING:
                if found is not None:
                    if charset and not found.get("SpecificCharacterSet"):
                        _read_as(found, charset)
                    matches.append(found)
                if len(matches) >= limit:
                    log.warning("C-FIND on %s: more than %d matches; cancelled", peer, limit)
                    break
                continue
            final = code
        if final is not None and final not in (0x0000, _CANCELLED):
            raise DicomQueryError(f"{peer} refused the {model} query with status {final:#06x}")
    return matches


class FindOptions(TypedDict, total=False):
    """How a query is made (see `c_find`): our AE title, timeouts, the query's character set, TLS."""

    calling_aet: str
    timeouts: Timeouts | None
    charset: str | None
    tls: Any


def _s(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _dt(d: str | None, t: str | None) -> datetime | None:
    if not d:
        return None
    try:
        day: date = DA(d)
        clock: time | None = TM(t) if t else None
        return datetime.combine(day, clock or time(0, 0))
    except (TypeError, ValueError):
        return None


def _date_range(when: datetime | date | str | None, window: timedelta = timedelta(0)) -> str:
    if when is None:
        return ""
    if isinstance(when, str):
        return when
    if isinstance(when, datetime):
        lo, hi = (when - window).date(), (when + window).date()
        return lo.strftime("%Y%m%d") if lo == hi else f"{lo:%Y%m%d}-{hi:%Y%m%d}"
    return when.strftime("%Y%m%d")


@dataclass(slots=True)
class WorklistItem:
    """One scheduled procedure step. Patient name, ID and birth date are personal data."""

    patient_name: str | None
    patient_id: str | None
    patient_birth_date: str | None
    patient_sex: str | None
    accession_number: str | None
    study_instance_uid: str | None
    requested_procedure_id: str | None
    requested_procedure_description: str | None
    modality: str | None
    station_aet: str | None
    scheduled_start: datetime | None
    step_id: str | None
    step_description: str | None
    patient_weight: float | None = None  # kg
    patient_size: float | None = None  # m
    admitting_diagnoses: str | None = None
    procedure_codes: list[Code] = field(default_factory=list)  # requested procedure code
    admitting_codes: list[Code] = field(default_factory=list)
    raw: Dataset = field(repr=False, default_factory=Dataset)

    PERSONAL = ("patient_name", "patient_id", "patient_birth_date")


def _float(ds: Dataset, keyword: str) -> float | None:
    try:
        value = ds.get(keyword)
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _codes(ds: Dataset, keyword: str) -> list[Code]:
    out = []
    for item in ds.get(keyword) or []:
        value, scheme, meaning = (_s(item, k) for k in ("CodeValue", "CodingSchemeDesignator", "CodeMeaning"))
        if value and scheme and meaning:
            out.append(Code(value, scheme, meaning))
    return out


@dataclass(slots=True)
class StudyMatch:
    patient_name: str | None
    patient_id: str | None
    patient_birth_date: str | None
    accession_number: str | None
    study_instance_uid: str | None
    study_datetime: datetime | None
    study_description: str | None
    modalities: list[str]
    raw: Dataset = field(repr=False, default_factory=Dataset)

    PERSONAL = ("patient_name", "patient_id", "patient_birth_date")


def find_worklist(
    peer: Peer,
    *,
    patient_id: str | None = None,
    patient_name: str | None = None,
    scheduled: datetime | date | str | None = None,
    window: timedelta = timedelta(0),
    modality: str | None = None,
    station_aet: str | None = None,
    accession_number: str | None = None,
    **options: Unpack[FindOptions],
) -> list[WorklistItem]:
    """Query a modality worklist (C-FIND, MWL information model); `options` as for `c_find`."""
    q = Dataset()
    q.PatientName = patient_name or ""
    q.PatientID = patient_id or ""
    q.PatientBirthDate = ""
    q.PatientSex = ""
    q.AccessionNumber = accession_number or ""
    q.StudyInstanceUID = ""
    q.RequestedProcedureID = ""
    q.RequestedProcedureDescription = ""
    q.RequestedProcedureCodeSequence = Sequence([])
    q.PatientWeight = ""
    q.PatientSize = ""
    q.AdmittingDiagnosesDescription = ""
    q.AdmittingDiagnosesCodeSequence = Sequence([])
    sps = Dataset()
    sps.Modality = modality or ""
    sps.ScheduledStationAETitle = station_aet or ""
    sps.ScheduledProcedureStepStartDate = _date_range(scheduled, window)
    sps.ScheduledProcedureStepStartTime = ""
    sps.ScheduledProcedureStepID = ""
    sps.ScheduledProcedureStepDescription = ""
    q.ScheduledProcedureStepSequence = Sequence([sps])
    items = []
    for ds in c_find(peer, q, "worklist", **options):
        step = ds.ScheduledProcedureStepSequence[0] if ds.get("ScheduledProcedureStepSequence") else Dataset()
        items.append(WorklistItem(
            patient_name=_s(ds, "PatientName"), patient_id=_s(ds, "PatientID"),
            patient_birth_date=_s(ds, "PatientBirthDate"), patient_sex=_s(ds, "PatientSex"),
            accession_number=_s(ds, "AccessionNumber"), study_instance_uid=_s(ds, "StudyInstanceUID"),
            requested_procedure_id=_s(ds, "RequestedProcedureID"),
            requested_procedure_description=_s(ds, "RequestedProcedureDescription"),
            modality=_s(step, "Modality"), station_aet=_s(step, "ScheduledStationAETitle"),
            scheduled_start=_dt(_s(step, "ScheduledProcedureStepStartDate"), _s(step, "ScheduledProcedureStepStartTime")),
            step_id=_s(step, "ScheduledProcedureStepID"), step_description=_s(step, "ScheduledProcedureStepDescription"),
            patient_weight=_float(ds, "PatientWeight"), patient_size=_float(ds, "PatientSize"),
            admitting_diagnoses=_s(ds, "AdmittingDiagnosesDescription"),
            procedure_codes=_codes(ds, "RequestedProcedureCodeSequence"),
            admitting_codes=_codes(ds, "AdmittingDiagnosesCodeSequence"),
            raw=ds,
        ))
    return items


def find_studies(
    peer: Peer,
    *,
    patient_id: str | None = None,
    patient_name: str | None = None,
    study_date: datetime | date | str | None = None,
    window: timedelta = timedelta(0),
    accession_number: str | None = None,
    modality: str | None = None,
    study_instance_uid: str | None = None,
    **options: Unpack[FindOptions],
) -> list[StudyMatch]:
    """Query a PACS at study level (C-FIND, study root); `options` as for `c_find`."""
    q = Dataset()
    q.QueryRetrieveLevel = "STUDY"
    q.PatientName = patient_name or ""
    q.PatientID = patient_id or ""
    q.PatientBirthDate = ""
    q.AccessionNumber = accession_number or ""
    q.StudyInstanceUID = study_instance_uid or ""
    q.StudyDate = _date_range(study_date, window)
    q.StudyTime = ""
    q.StudyDescription = ""
    q.ModalitiesInStudy = modality or ""
    out = []
    for ds in c_find(peer, q, "study", **options):
        mods = ds.get("ModalitiesInStudy") or []
        out.append(StudyMatch(
            patient_name=_s(ds, "PatientName"), patient_id=_s(ds, "PatientID"),
            patient_birth_date=_s(ds, "PatientBirthDate"), accession_number=_s(ds, "AccessionNumber"),
            study_instance_uid=_s(ds, "StudyInstanceUID"),
            study_datetime=_dt(_s(ds, "StudyDate"), _s(ds, "StudyTime")),
            study_description=_s(ds, "StudyDescription"),
            modalities=[str(m) for m in (mods if isinstance(mods, (list, tuple)) or type(mods).__name__ == "MultiValue" else [mods]) if str(m)],
            raw=ds,
        ))
    return out


@dataclass(slots=True)
class Fill:
    """What a query found for a screen: the accession number and the study it belongs to."""

    accession_number: str
    study_instance_uid: str | None
    patient_name: str | None
    patient_birth_date: str | None
    patient_sex: str | None
    source: str
    when: datetime | None
    alternatives: int = 0
    patient_weight: float | None = None
    patient_size: float | None = None
    admitting_diagnoses: str | None = None
    procedure_codes: list[Code] = field(default_factory=list)
    admitting_codes: list[Code] = field(default_factory=list)


class _Candidate(NamedTuple):
    seconds_off: float  # from the exam time
    match: Any  # WorklistItem or StudyMatch


def accession_for(
    peer: Peer,
    patient_id: str,
    when: datetime,
    *,
    window: timedelta = timedelta(hours=6),
    modality: str | None = None,
    source: Literal["worklist", "study"] = "worklist",
    **options: Unpack[FindOptions],
) -> Fill | None:
    """The accession number of the patient's procedure closest in time to `when`.

    Looks in the worklist (scheduled steps) or the PACS (studies) within `window` of `when`;
    None when nothing matches. `alternatives` says how many other candidates there were.
    `options` as for `c_find`.
    """
    if when.tzinfo is not None:
        when = when.astimezone().replace(tzinfo=None)  # worklists and PACS speak local wall time
    found: list[Any]
    if source == "worklist":
        found = find_worklist(peer, patient_id=patient_id, scheduled=when, window=window, modality=modality, **options)
    else:
        found = find_studies(peer, patient_id=patient_id, study_date=when, window=window, modality=modality, **options)
    candidates = []
    for match in found:
        if match.accession_number:
            t = getattr(match, "scheduled_start", None) or getattr(match, "study_datetime", None)
            candidates.append(_Candidate(abs((t - when).total_seconds()) if t else window.total_seconds(), match))
    candidates = [c for c in candidates if c.seconds_off <= window.total_seconds()]
    if not candidates:
        return None
    candidates.sort(key=lambda c: c.seconds_off)
    best = candidates[0].match
    return Fill(
        accession_number=best.accession_number, study_instance_uid=best.study_instance_uid,
        patient_name=best.patient_name, patient_birth_date=best.patient_birth_date,
        patient_sex=getattr(best, "patient_sex", None), source=f"{source} {peer}",
        when=getattr(best, "scheduled_start", None) or getattr(best, "study_datetime", None),
        alternatives=len(candidates) - 1,
        patient_weight=getattr(best, "patient_weight", None), patient_size=getattr(best, "patient_size", None),
        admitting_diagnoses=getattr(best, "admitting_diagnoses", None),
        procedure_codes=list(getattr(best, "procedure_codes", []) or []),
        admitting_codes=list(getattr(best, "admitting_codes", []) or []),
    )
