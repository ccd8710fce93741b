"""A dose screen (a screen image, a DICOM screen save or a record) and a worklist, into what
`connectors.rdsr.build_ct_rdsr` needs: the record, the study context, the device observer and
the reasons for review found on the way."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcedge.errors import UsageError
from qcedge.intake.screens import ocr_record, screen_reader

log = logging.getLogger("qcedge.dicom")


def load_screen_image(path: str) -> tuple[Any, Any]:
    """(BGR image, the dataset if it is a DICOM screen save) from a PNG/JPEG or a DICOM file.
    A DICOM file that cannot be read raises its DicomReadError; a damaged or cut-off image, ImageFileError."""
    from qcedge.images import read_image

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such file")
    with open(p, "rb") as f:
        head = f.read(132)
    if head[128:132] == b"DICM":
        from qcedge.connectors.dicom_files import read_dataset, screen_image

        ds = read_dataset(p)
        return screen_image(ds, name=path), ds
    return read_image(p), None


def load_dose_mapping(path: str | None) -> Any:
    """The DoseFieldMap of a YAML file of overrides (name: [field names]); the defaults without one."""
    from qcedge.connectors.rdsr import DoseFieldMap

    if not path:
        return DoseFieldMap()
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError("expected a mapping of name: [field names]")
        return DoseFieldMap.from_mapping(data)
    except (OSError, yaml.YAMLError, ValueError, TypeError) as exc:  # the message names the file
        raise UsageError(f"{path}: {exc}") from None


def load_record(path: str) -> Any:
    """A record (JSON) read from a dose screen before."""
    from qcedge.qc_client.record import Record

    try:
        return Record.from_json(Path(path).read_bytes())
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a qcedge record ({str(exc).splitlines()[0]})") from None


def read_dose_screen(image_path: str, template: str, engine: str, *, station: str, site: str) -> tuple[Any, Any]:
    """(record, the screen save's dataset or None) of a dose screen read with `template`."""
    image, ds = load_screen_image(image_path)
    ocr = screen_reader(template, engine)
    assert ocr is not None  # a template was given
    found = ocr(image)
    if found is None:
        raise UsageError(f"{image_path}: the template {template} does not match this image")
    record = ocr_record(found, image, station=station, site=site, source=f"file:{Path(image_path).name}")
    return record, ds


@dataclass
class DoseInputs:
    """What the SR is built from besides the record: the study and patient, the CT, and the
    reasons for review found while filling them in."""

    study: Any
    device: Any
    save: Any = None  # the DICOM screen save's dataset, when the screen came as one
    flags: list[str] = field(default_factory=list)


def dose_inputs(save: Any, device: dict[str, str | None]) -> DoseInputs:
    """The study and device a screen save's header gives, with `device` (station config values,
    None where not given) taking precedence."""
    from qcedge.connectors.rdsr import DeviceObserver, StudyContext, study_from_dataset

    study, saved_device = StudyContext(), None
    if save is not None:  # a CT's screen save: its header knows the study, the patient and the CT
        study, saved_device = study_from_dataset(save, "the screen save's header")
    base = saved_device or DeviceObserver()
    observer = DeviceObserver(**{k: device.get(k) or getattr(base, k)
                                 for k in ("name", "manufacturer", "model", "serial", "location")})
    return DoseInputs(study=study, device=observer, save=save)


def apply_worklist(inputs: DoseInputs, record: Any, mapping: Any, fill: Any, worklist: Any, when: Any) -> None:
    """Fill the study from a worklist answer (`connectors.query.Fill`, None when nothing
    matched) and flag a patient name on the screen that differs from the worklist's."""
    from qcedge.connectors.rdsr import StudyContext, same_person_name, screen_text

    study, save = inputs.study, inputs.save
    if fill is None:
        log.warning("worklist %s has no procedure for the patient near %s; the SR's study UID is %s", worklist,
                    when, "the screen save's" if study.study_instance_uid else "derived from the screen")
        return
    inputs.study = study.merged(StudyContext(
        study_instance_uid=fill.study_instance_uid, accession_number=fill.accession_number,
        patient_name=fill.patient_name, patient_birth_date=fill.patient_birth_date,
        patient_sex=fill.patient_sex, patient_weight=fill.patient_weight,
        patient_size=fill.patient_size, admitting_diagnoses=fill.admitting_diagnoses,
        procedure_codes=fill.procedure_codes, admitting_codes=fill.admitting_codes,
        source=(study.source + " and " if study.source else "") + f"the worklist {worklist}"))
    shown = screen_text(record, "patient_name", mapping) or (save is not None and str(save.get("PatientName", ""))) or ""
    if shown and fill.patient_name and not same_person_name(shown, fill.patient_name):
        inputs.flags.append(f"the patient name on the screen differs from the worklist's for accession "
                            f"{fill.accession_number}")
    if save is not None and save.get("StudyInstanceUID") and fill.study_instance_uid \
            and str(save.StudyInstanceUID) != fill.study_instance_uid:
        log.warning("the screen save's study UID differs from the worklist's; the SR keeps the save's")
