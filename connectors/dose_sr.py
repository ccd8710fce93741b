"""Dose values from an X-Ray Radiation Dose SR: the content tree walked by concept codes.

CT (TID 10011): the accumulated DLP (TID 10012) and, per irradiation event (TID 10013),
protocol, target region, acquisition type, kV, tube current, exposure, CTDIvol, DLP and
phantom. Projection X-ray (TID 10001): the accumulated and per-event dose area product.
`dose_fields` gives them as a record's fields.
The report and its events are the CT dose model of connectors.ct_dose (importable from here too).
"""
from __future__ import annotations

from pydicom.dataset import Dataset

from qcedge.connectors import sr_codes as C
from qcedge.connectors.ct_dose import CtEvent, DoseReport, event_columns
from qcedge.connectors.sr_tree import code_value, find, find_all, is_concept, num, num_of, text_of
from qcedge.qc_client.record import CheckValue, FieldValue

DOSE_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.67": "X-Ray Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.76": "Enhanced X-Ray Radiation Dose SR",
}
SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."

__all__ = ["DOSE_SR_CLASSES", "SR_CLASS_PREFIX", "CtEvent", "DoseReport", "dose_fields", "event_columns",
           "is_dose_report", "read_dose_report"]


def is_dose_report(ds: Dataset) -> bool:
    """An X-Ray Radiation Dose SR, or any SR whose root concept is 'X-Ray Radiation Dose Report'."""
    sop = str(ds.get("SOPClassUID", ""))
    if sop in DOSE_SR_CLASSES:
        return True
    return sop.startswith(SR_CLASS_PREFIX) and is_concept(ds, C.XRAY_DOSE_REPORT)


def _phantom(item: Dataset) -> str | None:
    cv = code_value(find(item, C.PHANTOM_TYPE))
    if cv is None:
        return None
    if cv.value == C.HEAD_PHANTOM.value:
        return "head 16 cm"
    if cv.value == C.BODY_PHANTOM.value:
        return "body 32 cm"
    return cv.meaning or cv.value


def _ct_event(item: Dataset) -> CtEvent:
    ev = CtEvent(
        protocol=text_of(item, C.ACQUISITION_PROTOCOL),
        target_region=text_of(item, C.TARGET_REGION),
        acquisition_type=text_of(item, C.CT_ACQUISITION_TYPE),
        event_uid=text_of(item, C.IRRADIATION_EVENT_UID),
    )
    params = find(item, C.CT_ACQUISITION_PARAMETERS)
    if params is not None:
        ev.exposure_time = num_of(params, C.EXPOSURE_TIME)
        ev.scan_length = num_of(params, C.SCANNING_LENGTH, deep=True)
        ev.pitch = num_of(params, C.PITCH_FACTOR)
        sources = find_all(params, C.SOURCE_PARAMETERS)
        if sources:
            src = sources[0]
            ev.kv = num_of(src, C.KVP)
            ev.ma = num_of(src, C.TUBE_CURRENT)
            ev.max_ma = num_of(src, C.MAX_TUBE_CURRENT)
            ev.rotation_time = num_of(src, C.ROTATION_TIME)
            exposure, unit = num(find(src, C.EXPOSURE))
            if exposure is not None:
                ev.mas = exposure / 1000.0 if unit in ("uA.s", "uAs") else exposure
        if ev.mas is None and ev.ma is not None and ev.rotation_time is not None:
            ev.mas = round(ev.ma * ev.rotation_time, 3)
    dose = find(item, C.CT_DOSE)
    if dose is not None:
        ev.ctdivol = num_of(dose, C.MEAN_CTDIVOL)
        ev.dlp = num_of(dose, C.DLP)
        ev.phantom = _phantom(dose)
        ev.ssde = num_of(dose, C.SSDE)
    return ev


def _observer(root: Dataset) -> dict[str, str]:
    names = {
        "uid": C.DEVICE_OBSERVER_UID, "name": C.DEVICE_OBSERVER_NAME, "manufacturer": C.DEVICE_OBSERVER_MANUFACTURER,
        "model": C.DEVICE_OBSERVER_MODEL, "serial": C.DEVICE_OBSERVER_SERIAL, "location": C.DEVICE_OBSERVER_LOCATION,
    }
    out: dict[str, str] = {}
    for key, code in names.items():
        value = text_of(root, code)
        if value:
            out[key] = value
    return out


def read_dose_report(ds: Dataset) -> DoseReport:
    """Read the dose values of an RDSR. Unknown structure gives an empty report, never an exception."""
    ct_events = find_all(ds, C.CT_ACQUISITION)
    accumulated_ct = find(ds, C.CT_ACCUMULATED)
    report = DoseReport(kind="CT" if (ct_events or accumulated_ct is not None) else "XR")
    report.observer = _observer(ds)
    report.procedure = text_of(ds, C.PROCEDURE_REPORTED)
    report.start = text_of(ds, C.START_IRRADIATION)
    report.sources_of_dose = [cv.meaning for cv in (code_value(i) for i in find_all(ds, C.SOURCE_OF_DOSE)) if cv]
    if report.kind == "CT":
        report.events = [_ct_event(item) for item in ct_events]
        if accumulated_ct is not None:
            report.total_dlp = num_of(accumulated_ct, C.DLP_TOTAL)
            events = num_of(accumulated_ct, C.TOTAL_EVENTS)
            report.total_events = int(events) if events is not None else None
    else:
        accumulated = find(ds, C.ACCUMULATED_XRAY)
        if accumulated is not None:
            report.total_dap = num_of(accumulated, C.DAP_TOTAL, deep=True)
            events = num_of(accumulated, C.TOTAL_EVENTS, deep=True)
            report.total_events = int(events) if events is not None else None
        report.event_daps = [num_of(item, C.DAP) for item in find_all(ds, C.IRRADIATION_EVENT_XRAY)]
    return report


# --------------------------------------------------------------------------- as record fields

def _num(value: float | None, unit: str = "") -> FieldValue:
    return FieldValue(value=value, text="" if value is None else f"{value:g}" + (f" {unit}" if unit else ""))


def dose_fields(report: DoseReport) -> tuple[dict[str, FieldValue], list[CheckValue]]:
    """A dose report as record fields (CT: `total_dlp` and the `series` table; projection: DAP)
    and the check that the total DLP is the sum of the acquisitions'."""
    fields: dict[str, FieldValue] = {}
    checks: list[CheckValue] = []
    if report.kind == "CT":
        if report.total_dlp is not None:
            fields["total_dlp"] = _num(report.total_dlp, "mGy.cm")
        rows = []
        for ev in report.events:
            row = {k: FieldValue(value=v, text=f"{v:g}" if isinstance(v, float) else str(v))
                   for k, v in event_columns(ev).items()}
            rows.append(row)
        fields["series"] = FieldValue(
            value=[{k: fv.value for k, fv in row.items()} for row in rows], text=f"{len(rows)} acquisitions", rows=rows,
        )
        dlps = [ev.dlp for ev in report.events if ev.dlp is not None]
        if report.total_dlp is not None and dlps:
            total = sum(dlps)
            ok = abs(total - report.total_dlp) <= max(0.5, 0.01 * report.total_dlp)
            checks.append(CheckValue(
                name="total_dlp_is_sum", ok=ok,
                message=f"total DLP {report.total_dlp:g} vs sum of acquisitions {total:g} mGy.cm",
            ))
    else:
        if report.total_dap is not None:
            fields["total_dap"] = _num(report.total_dap, "Gy.m2")
        if report.event_daps:
            fields["event_dap"] = FieldValue(value=report.event_daps, text=f"{len(report.event_daps)} events")
    if report.total_events is not None:
        fields["total_events"] = FieldValue(value=report.total_events, text=str(report.total_events))
    for key, value in report.observer.items():
        fields[f"device_observer_{key}"] = FieldValue(value=value, text=value)
    if report.procedure:
        fields["procedure_reported"] = FieldValue(value=report.procedure, text=report.procedure)
    if report.sources_of_dose:
        fields["source_of_dose"] = FieldValue(value=report.sources_of_dose, text=", ".join(report.sources_of_dose))
    return fields, checks
