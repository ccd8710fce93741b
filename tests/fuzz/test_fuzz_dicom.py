"""Seeded fuzzing of DICOM files: mutated and truncated objects through `dicom read` (in process
and through the command line) and through the receiver. Every input gives a valid result or one
clear line naming the file (exit 2); the receiver keeps serving and loses nothing it acknowledged.
Deterministic (hypothesis derandomized, no example database) and small: seconds."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pynetdicom import AE, _config
from pynetdicom.dsutils import split_dataset

from qcedge.connectors.dicom_files import read_dicom
from qcedge.connectors.errors import ConnectorError
from qcedge.connectors.receiver import Receiver, ReceiverConfig

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _screen_save(name: str) -> bytes:
    """A bundled image turned into a screen save (so its pixels are decoded for OCR)."""
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def _rdsr() -> bytes:
    sys.path.insert(0, str(ROOT / "tests" / "connectors"))
    from conn_helpers import ct_dose_record

    from qcedge.connectors.rdsr import build_ct_rdsr

    buf = io.BytesIO()
    build_ct_rdsr(ct_dose_record()).save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _palette_without_lut() -> bytes:
    ds = pydicom.dcmread(get_testdata_file("examples_palette.dcm"))
    for keyword in [e.keyword for e in ds if "PaletteColor" in e.keyword]:
        delattr(ds, keyword)
    ds.ImageType = ["DERIVED", "SECONDARY", "SCREEN SAVE"]
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


def _broken_jpeg() -> bytes:
    """A JPEG screen save whose Huffman tables are damaged: the file is fine, the image is not."""
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(io.BytesIO(_screen_save("SC_rgb_jpeg_dcmtk.dcm")))
    frame = bytearray(next(generate_frames(ds.PixelData, number_of_frames=1)))
    sos = frame.find(b"\xff\xda")
    frame[sos - 200:sos - 100] = b"\x13" * 100
    ds.PixelData = encapsulate([bytes(frame)])
    buf = io.BytesIO()
    ds.save_as(buf)
    return buf.getvalue()


SEEDS = {
    "ct": Path(get_testdata_file("CT_small.dcm")).read_bytes(),
    "mr_be": Path(get_testdata_file("MR_small_bigendian.dcm")).read_bytes(),
    "sc_rgb": _screen_save("SC_rgb_small_odd.dcm"),
    "sc_jpeg": _screen_save("SC_rgb_jpeg_dcmtk.dcm"),
    "sc_rle": _screen_save("MR_small_RLE.dcm"),
    "rdsr": _rdsr(),
}

mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 7)),
    st.tuples(st.just("set"), st.floats(0, 1), st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x20, 0x5C])),
    st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("junk"), st.floats(0, 1), st.integers(1, 64)),
    st.tuples(st.just("drop"), st.floats(0, 1), st.integers(1, 256)),
)
mutated_files = st.tuples(st.sampled_from(sorted(SEEDS)), st.lists(mutation, min_size=1, max_size=4))


def mutate(seed: str, steps: list[tuple[str, float, int]]) -> bytes:
    data = bytearray(SEEDS[seed])
    for kind, where, arg in steps:
        if not data:
            break
        i = min(int(where * len(data)), len(data) - 1)
        if kind == "flip":
            data[i] ^= 1 << arg
        elif kind == "set":
            data[i] = arg
        elif kind == "cut":
            del data[i:]
        elif kind == "junk":
            data[i:i] = bytes((i * 31 + k * 17) & 0xFF for k in range(arg))
        else:
            del data[i:i + arg]
    return bytes(data)


def check_reading(path: Path) -> None:
    """A valid result, or a ConnectorError naming the file; nothing else."""
    try:
        reading = read_dicom(path, "fuzz-station", "fuzz-site", parsers=[])
    except ConnectorError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), str(exc)
        return
    assert reading.record.to_json()  # serialisable
    if reading.needs_ocr:
        image = reading.image
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


@FUZZ
@given(mutated_files)
def test_read_mutated_files_in_process(tmp_path_factory, case):
    seed, steps = case
    path = tmp_path_factory.mktemp("fz") / f"{seed}.dcm"
    path.write_bytes(mutate(seed, steps))
    check_reading(path)


def test_read_command_one_line_per_bad_file_and_no_library_noise(tmp_path):
    """One CLI run over a fixed, seeded batch: each file gives one JSON record or one line naming
    it; nothing else is printed (no traceback, no pydicom WARNING); exit 2 when a file was bad."""
    import random

    rng = random.Random(20261127)
    files = []
    for n in range(40):
        seed = sorted(SEEDS)[n % len(SEEDS)]
        steps = [(rng.choice(["flip", "set", "cut", "junk", "drop"]), rng.random(), rng.randint(1, 7))
                 for _ in range(rng.randint(1, 3))]
        files.append((f"m{n:02d}.dcm", mutate(seed, steps)))
    bad_ts = SEEDS["ct"].replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.5.1.4", 1)  # not a transfer syntax
    files += [("palette_no_lut.dcm", _palette_without_lut()), ("broken_jpeg.dcm", _broken_jpeg()),
              ("bad_ts.dcm", bad_ts),
              ("empty.dcm", b""), ("ct_ok.dcm", SEEDS["ct"])]
    paths = []
    for name, data in files:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    out = subprocess.run([sys.executable, "-m", "qcedge", "dicom", "read", "--json", *paths], cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120)
    errors = out.stderr.splitlines()
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(errors) + len(records) == len(paths), out.stderr
    assert all(e.startswith("qcedge dicom read: " + str(tmp_path)) for e in errors), out.stderr
    assert "Traceback" not in out.stderr and "WARNING" not in out.stderr
    assert out.returncode == (2 if errors else 0)
    by_name = {e.split(": ")[1]: e for e in errors}
    assert "PALETTE COLOR image without a colour lookup table" in by_name[str(tmp_path / "palette_no_lut.dcm")]
    assert "pixel data cannot be decoded" in by_name[str(tmp_path / "broken_jpeg.dcm")]
    assert "transfer syntax" in by_name[str(tmp_path / "bad_ts.dcm")]
    assert str(tmp_path / "ct_ok.dcm") not in by_name


@pytest.fixture(scope="module")
def fuzz_receiver(tmp_path_factory):
    sys.path.insert(0, str(ROOT))
    from qcedge.intake import make_store_handler

    store = tmp_path_factory.mktemp("fuzz-store")
    records: list = []
    rx = Receiver(ReceiverConfig(port=0, store_dir=store), make_store_handler("fz", "site", records.append)).start()
    old = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True  # the file's bytes go as they are, mutations included
    try:
        yield rx, store
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = old
        rx.stop()


RX_FUZZ = settings(FUZZ, max_examples=25)


@RX_FUZZ
@given(mutated_files)
def test_receiver_keeps_what_it_acknowledges_and_keeps_serving(fuzz_receiver, tmp_path_factory, case):
    rx, store = fuzz_receiver
    seed, steps = case
    path = tmp_path_factory.mktemp("rxf") / f"{seed}.dcm"
    path.write_bytes(mutate(seed, steps))
    try:
        meta, offset = split_dataset(path)
        sop_class = meta.MediaStorageSOPClassUID
        ts = meta.TransferSyntaxUID
        pydicom.uid.UID(ts).is_little_endian  # noqa: B018 - a transfer syntax pydicom knows
    except Exception:
        return  # the sender cannot even say what it is: nothing is offered, nothing to keep
    ae = AE("FUZZER")
    ae.add_requested_context(sop_class, [ts])
    assoc = ae.associate("127.0.0.1", rx.port, ae_title="QCEDGE")
    assert assoc.is_established, "the receiver must keep accepting associations"
    try:
        status = assoc.send_c_store(path)
    except Exception:
        status = None  # our sender refused the file: nothing was acknowledged
    finally:
        if assoc.is_established:
            assoc.release()
    if status is not None and status.get("Status") == 0x0000:
        body = path.read_bytes()[offset:]
        kept = [p for p in store.rglob("*.dcm") if p.read_bytes().endswith(body)]
        assert kept, "an acknowledged object must be on disk, byte for byte"
    assert rx.wait_idle(30)
    assert rx.stats["callback_failed"] == 0  # unreadable objects are logged by the handler, not crashes
    echo = AE("FUZZER")
    echo.add_requested_context("1.2.840.10008.1.1")
    a = echo.associate("127.0.0.1", rx.port, ae_title="QCEDGE")
    assert a.is_established and a.send_c_echo().Status == 0x0000
    a.release()


@settings(FUZZ, max_examples=60)
@given(mutated_files)
def test_capture_source_on_mutated_files(tmp_path_factory, case):
    """The capture side (`capture.dicom_source`): frames, or a SourceError naming the file."""
    from qcedge.capture.dicom_source import DicomSource
    from qcedge.capture.source import SourceError

    seed, steps = case
    path = tmp_path_factory.mktemp("cap") / f"{seed}.dcm"
    path.write_bytes(mutate(seed, steps))
    source = DicomSource(path)
    try:
        source.open()
        while (frame := source.read()) is not None:
            assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
    except SourceError as exc:
        assert path.name in str(exc) and "\n" not in str(exc), str(exc)
    finally:
        source.close()
