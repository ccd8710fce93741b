"""DICOM files into records: pydicom's bundled files as real inputs, plus broken ones."""
from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from qcedge.connectors.dicom_files import classify, read_dataset, read_dicom, record_from_dataset, screen_image
from qcedge.connectors.errors import DicomReadError, UnknownSopClassError
from qcedge.qc_client.record import Record


def test_ct_image_header_becomes_record_with_personal_data_flagged():
    reading = read_dicom(get_testdata_file("CT_small.dcm"), "st-1", "site-a", parsers=[])
    rec = reading.record
    assert reading.kind == "image" and not reading.needs_ocr and reading.image is None
    assert rec.kind == "dicom" and rec.modality == "CT" and rec.station == "st-1" and rec.site == "site-a"
    f = rec.fields
    assert f["manufacturer"].value == "GE MEDICAL SYSTEMS"
    assert f["model"].value == "RHAPSODE"
    assert f["station_name"].value == "CT01_OC0"
    assert f["kvp"].value == 120.0
    assert f["exposure_mas"].value == 170.0
    assert f["tube_current_ma"].value == 170.0
    assert f["acquisition_datetime"].value == "1997-04-30T11:29:36"
    assert f["sop_class"].value == "CT Image Storage"
    assert f["patient_name"].personal and f["patient_id"].personal
    assert f["patient_id"].value == "1CT1"
    assert not f["kvp"].personal and not f["manufacturer"].personal
    assert rec.status == "complete"
    # the record survives the feed's JSON round trip
    again = Record.from_json(rec.to_json())
    assert again.fields["kvp"].value == 120.0 and again.fields["patient_name"].personal


def test_same_object_gives_same_identity_different_objects_differ():
    a = read_dicom(get_testdata_file("CT_small.dcm"), "s", "x", parsers=[]).record
    b = read_dicom(get_testdata_file("CT_small.dcm"), "s", "x", parsers=[]).record
    c = read_dicom(get_testdata_file("MR_small.dcm"), "s", "x", parsers=[]).record
    assert a.identity == b.identity != c.identity
    assert a.id != b.id  # each reading is its own record


def _dx(**extra) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.Manufacturer, ds.ManufacturerModelName, ds.StationName = "LumenDR", "LDR-9", "DR-ROOM-2"
    ds.OperatorsName = "WANG^FANG"
    ds.ProtocolName, ds.SeriesDescription = "Chest PA", "Chest PA standing"
    ds.BodyPartExamined, ds.ImageLaterality, ds.ViewPosition = "CHEST", "L", "PA"
    ds.KVP = "125"
    ds.ExposureInuAs = 3200
    ds.ExposureIndex, ds.TargetExposureIndex, ds.DeviationIndex = "420", "400", "0.21"
    ds.PatientName, ds.PatientID = "LI^SI", "0087654321"
    for k, v in extra.items():
        setattr(ds, k, v)
    return ds


def test_dx_exposure_and_exposure_index_fields():
    rec = record_from_dataset(_dx(), "st", "site", parsers=[])
    f = rec.fields
    assert rec.modality == "DX"
    assert f["kvp"].value == 125.0
    assert f["exposure_mas"].value == pytest.approx(3.2)  # from Exposure in uAs
    assert (f["exposure_index"].value, f["target_exposure_index"].value, f["deviation_index"].value) == (420.0, 400.0, 0.21)
    assert (f["body_part"].value, f["laterality"].value, f["view_position"].value) == ("CHEST", "L", "PA")
    assert f["operator"].value == "WANG FANG"
    assert (f["protocol"].value, f["series_description"].value) == ("Chest PA", "Chest PA standing")


@pytest.mark.filterwarnings("ignore:Invalid value for VR")
def test_malformed_header_value_is_flagged_not_fatal():
    rec = record_from_dataset(_dx(StudyDate="2026XX27", StudyTime="0941"), "st", "site", parsers=[])
    assert rec.fields["study_datetime"].valid is False
    assert "not a DICOM date" in rec.fields["study_datetime"].reasons[0]
    assert rec.status == "needs_review"


@pytest.mark.parametrize("name", ["SC_rgb_small_odd.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_secondary_capture_is_a_screen_image_for_ocr(name):
    path = get_testdata_file(name)
    reading = read_dicom(path, "st", "site", parsers=[])
    assert reading.kind == "screen" and reading.needs_ocr
    ds = pydicom.dcmread(path)
    rgb = ds.pixel_array
    assert reading.image.dtype == np.uint8 and reading.image.shape == (ds.Rows, ds.Columns, 3)
    assert np.array_equal(reading.image[..., ::-1], rgb)  # BGR of what pydicom decodes
    assert reading.record.evidence.frame_sha256


def test_grey_16_bit_image_is_scaled_to_8_bit_bgr():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    img = screen_image(ds)
    assert img.shape == (128, 128, 3) and img.dtype == np.uint8
    assert img.min() == 0 and img.max() == 255
    assert np.array_equal(img[..., 0], img[..., 2])


def test_screen_save_image_type_marks_a_ct_image_as_screen():
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    assert classify(ds) == "screen"


def test_other_standard_classes_give_a_minimal_record():
    rec = read_dicom(get_testdata_file("rtplan.dcm"), "st", "site", parsers=[]).record
    assert rec.modality == "RTPLAN" and rec.fields["sop_class"].value == "RT Plan Storage"
    ecg = read_dicom(get_testdata_file("waveform_ecg.dcm"), "st", "site", parsers=[])
    assert ecg.kind == "other" and ecg.record.fields["sop_class"].value == "12-lead ECG Waveform Storage"


def test_unknown_sop_class_is_a_clear_error():
    ds = _dx(SOPClassUID="2.25.1234567890123456789")
    with pytest.raises(UnknownSopClassError) as err:
        record_from_dataset(ds, "st", "site", source="file:x.dcm", parsers=[])
    assert "2.25.1234567890123456789" in str(err.value) and "qcedge.connectors" in str(err.value)


@pytest.mark.parametrize("name, expect", [
    ("MR_truncated.dcm", "truncated: element (7FE0,0010) declares 8192 bytes but the file holds 8130"),
    ("rtplan_truncated.dcm", "truncated"),
    ("no_meta.dcm", "not a DICOM file"),
])
def test_broken_bundled_files_give_clear_errors(name, expect):
    with pytest.raises(DicomReadError) as err:
        read_dicom(get_testdata_file(name), "st", "site", parsers=[])
    assert expect in str(err.value) and name in str(err.value)


def test_files_cut_anywhere_never_pass_as_complete(tmp_path):
    data = open(get_testdata_file("CT_small.dcm"), "rb").read()
    outcomes = set()
    for cut in list(range(140, 2400, 97)) + [len(data) - 1000, len(data) - 1]:
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(data[:cut])
        try:
            reading = read_dicom(path, "st", "site", parsers=[])
        except DicomReadError as exc:
            assert str(path) in str(exc)
            outcomes.add("error")
        else:  # a prefix that ends exactly between elements reads, but never as a full CT image
            assert "PixelData" not in reading.dataset
            outcomes.add("partial")
    assert "error" in outcomes


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 8)
    with pytest.raises(DicomReadError):
        read_dataset(junk)
    with pytest.raises(DicomReadError, match="no such file"):
        read_dataset(tmp_path / "missing.dcm")
    with pytest.raises(DicomReadError, match="not a DICOM file"):
        read_dataset(io.BytesIO(b"%PDF-1.4 not dicom at all" * 20))


def test_dataset_without_sop_class_is_rejected(tmp_path):
    ds = Dataset()
    ds.PatientName = "X^Y"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = tmp_path / "nosop.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.raises(DicomReadError, match="no SOP Class UID"):
        read_dataset(path)
