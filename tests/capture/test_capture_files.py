"""Image folders and DICOM secondary captures / screen saves."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import convert_color_space
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from qcedge.capture import DicomSource, ImageFolderSource, NotAnImageError, SourceError, open_source

from capture_helpers import console_screen

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"


def screen(i: int = 0, size=(640, 360)) -> np.ndarray:
    return console_screen({"kV": str(100 + i), "mAs": str(200 + 5 * i), "DLP": f"{310.5 + i:.1f}"}, size=size)


# -- image folders -------------------------------------------------------------

def test_folder_gives_pngs_and_jpegs_in_natural_order_and_skips_junk(tmp_path, caplog):
    images = {n: screen(n) for n in (1, 2, 10)}
    cv2.imwrite(str(tmp_path / "frame10.png"), images[10])
    cv2.imwrite(str(tmp_path / "frame2.jpg"), images[2], [cv2.IMWRITE_JPEG_QUALITY, 95])
    cv2.imwrite(str(tmp_path / "frame1.PNG"), images[1])
    (tmp_path / "frame5.png").write_bytes(b"not a png at all")
    (tmp_path / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING), open_source(f"folder:{tmp_path}") as source:
        frames = list(source)
    assert [f.origin for f in frames] == ["frame1.PNG", "frame2.jpg", "frame10.png"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert np.array_equal(frames[0].image, images[1]) and np.array_equal(frames[2].image, images[10])
    assert np.abs(frames[1].image.astype(int) - images[2]).mean() < 3
    assert "frame5.png" in caplog.text
    assert source.live is False


def test_folder_loops_and_reports_missing_or_empty_folders(tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"s{i}.png"), screen(i))
    with open_source(f"folder:{tmp_path}?loop=1") as source:
        origins = [source.read().origin for _ in range(5)]
    assert origins == ["s0.png", "s1.png", "s0.png", "s1.png", "s0.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="has no images"):
        ImageFolderSource(empty).open()
    with pytest.raises(SourceError, match="not found"):
        ImageFolderSource(tmp_path / "gone").open()


def test_greyscale_and_alpha_pngs_become_bgr(tmp_path):
    grey = cv2.cvtColor(screen(), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "a_grey.png"), grey)
    cv2.imwrite(str(tmp_path / "b_alpha.png"), cv2.cvtColor(screen(), cv2.COLOR_BGR2BGRA))
    with ImageFolderSource(tmp_path) as source:
        a, b = list(source)
    assert a.image.shape == b.image.shape == (360, 640, 3)
    assert np.array_equal(a.image[:, :, 0], grey) and np.array_equal(b.image, screen())


# -- DICOM ---------------------------------------------------------------------

def make_dicom(path: Path, pixels: np.ndarray | None, photometric: str = "RGB", bits: int = 8,
               sop_class: str = SecondaryCaptureImageStorage, **extra) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientName = "Zhang^Wei"
    ds.PatientID = "P-0042"
    for key, value in extra.items():
        setattr(ds, key, value)
    if pixels is not None:
        ds.set_pixel_data(pixels, photometric, bits)
    ds.save_as(path, enforce_file_format=True)
    return path


def read_all(path: Path) -> list:
    with DicomSource(path) as source:
        return list(source)


def test_rgb_secondary_capture_reads_back_exact(tmp_path):
    bgr = screen()
    path = make_dicom(tmp_path / "sc.dcm", cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    frames = read_all(path)
    assert len(frames) == 1
    assert frames[0].image.dtype == np.uint8 and np.array_equal(frames[0].image, bgr)
    assert frames[0].origin == "sc.dcm" and frames[0].source_id == "dicom:sc.dcm"


def test_multiframe_screen_save_gives_one_frame_per_dicom_frame(tmp_path):
    bgrs = [screen(i) for i in range(3)]
    stack = np.stack([cv2.cvtColor(b, cv2.COLOR_BGR2RGB) for b in bgrs])
    path = make_dicom(tmp_path / "multi.dcm", stack)
    frames = read_all(path)
    assert [f.origin for f in frames] == ["multi.dcm#0", "multi.dcm#1", "multi.dcm#2"]
    assert all(np.array_equal(f.image, b) for f, b in zip(frames, bgrs))


def test_ybr_full_is_converted_to_bgr(tmp_path):
    bgr = screen()
    ybr = convert_color_space(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "RGB", "YBR_FULL")
    (frame,) = read_all(make_dicom(tmp_path / "ybr.dcm", ybr, "YBR_FULL"))
    assert np.abs(frame.image.astype(int) - bgr).max() <= 3


def test_monochrome_8_bit_and_monochrome1_inverted(tmp_path):
    grey = cv2.cvtColor(screen(), cv2.COLOR_BGR2GRAY)
    (m2,) = read_all(make_dicom(tmp_path / "m2.dcm", grey, "MONOCHROME2"))
    (m1,) = read_all(make_dicom(tmp_path / "m1.dcm", 255 - grey, "MONOCHROME1"))
    assert np.array_equal(m2.image, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    assert np.array_equal(m1.image, m2.image)  # MONOCHROME1 shows 0 as white


def test_16_bit_monochrome_uses_the_window(tmp_path):
    values = np.array([[0, 500, 1000], [1500, 2000, 4095]], np.uint16)
    pixels = np.kron(values, np.ones((10, 10), np.uint16))
    path = make_dicom(tmp_path / "w.dcm", pixels, "MONOCHROME2", 12, WindowCenter=1000, WindowWidth=2000)
    (frame,) = read_all(path)
    got = frame.image[5::10, 5::10, 0]
    assert got.tolist() == [[0, 64, 128], [191, 255, 255]]
    # without a window the image's own range is used
    (plain,) = read_all(make_dicom(tmp_path / "p.dcm", pixels, "MONOCHROME2", 12))
    assert plain.image[5::10, 5::10, 0].tolist() == [[0, 31, 62], [93, 125, 255]]


def test_non_image_objects_get_a_clear_error(tmp_path):
    rdsr = make_dicom(tmp_path / "rdsr.dcm", None, sop_class=XRAY_DOSE_SR)
    with pytest.raises(NotAnImageError, match="without an image: X-Ray Radiation Dose SR"):
        open_source(f"dicom:{rdsr}")
    with pytest.raises(NotAnImageError, match="Comprehensive SR"):
        DicomSource(get_testdata_file("test-SR.dcm")).open()
    text = tmp_path / "note.dcm"
    text.write_text("hello")
    with pytest.raises(SourceError, match="not a DICOM file"):
        DicomSource(text).open()


def test_dicom_folder_skips_non_images_and_never_logs_patient_data(tmp_path, caplog):
    for i in range(2):
        make_dicom(tmp_path / f"img{i + 1}.dcm", cv2.cvtColor(screen(i), cv2.COLOR_BGR2RGB))
    make_dicom(tmp_path / "img1_dose.dcm", None, sop_class=XRAY_DOSE_SR)
    (tmp_path / "readme.txt").write_text("not dicom")
    with caplog.at_level(logging.DEBUG), open_source(f"dicom:{tmp_path}") as source:
        frames = list(source)
    assert [f.origin for f in frames] == ["img1.dcm", "img2.dcm"]
    assert "img1_dose.dcm" in caplog.text and "readme.txt" in caplog.text
    assert "Zhang" not in caplog.text and "P-0042" not in caplog.text


def test_pydicoms_own_secondary_captures_decode(tmp_path):
    """Bundled pydicom files: RLE multi-frame RGB, YBR_FULL_422, JPEG baseline, 16-bit MR."""
    (rle0, rle1) = read_all(Path(get_testdata_file("SC_rgb_rle_2frame.dcm")))
    (ybr,) = read_all(Path(get_testdata_file("SC_ybr_full_422_uncompressed.dcm")))
    (jpeg,) = read_all(Path(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm")))
    for frame in (rle0, rle1, ybr, jpeg):
        assert frame.image.shape == (100, 100, 3)
    for frame in (rle0, ybr, jpeg):
        assert np.abs(frame.image[5, 50].astype(int) - (0, 0, 255)).max() <= 3  # red band, in BGR
    assert np.array_equal(rle1.image, 255 - rle0.image)  # the second frame is the first inverted
    assert np.abs(ybr.image.astype(int) - rle0.image).mean() < 3
    assert np.abs(jpeg.image.astype(int) - rle0.image).mean() < 3
    (mr,) = read_all(Path(get_testdata_file("MR_small.dcm")))
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    assert ds.BitsAllocated == 16 and "WindowCenter" in ds
    centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
    values = ds.pixel_array.astype(float) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    expected = np.clip((values - (centre - width / 2)) * 255 / width + 0.5, 0, 255).astype(np.uint8)
    assert mr.image.shape == (64, 64, 3)
    assert np.abs(mr.image[:, :, 0].astype(int) - expected).max() <= 1
