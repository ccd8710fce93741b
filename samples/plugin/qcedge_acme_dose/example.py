"""Write an example ACME dose-info object: python -m qcedge_acme_dose.example OUT.dcm"""
from __future__ import annotations

import sys

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from qcedge_acme_dose import ACME_DOSE_INFO_CLASS, GROUP, PRIVATE_CREATOR


def example_dataset() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = ACME_DOSE_INFO_CLASS
    ds.SOPInstanceUID = generate_uid(prefix=None)
    ds.StudyInstanceUID = generate_uid(prefix=None)
    ds.SeriesInstanceUID = generate_uid(prefix=None)
    ds.Modality = "OT"
    ds.Manufacturer = "ACME Medical"
    ds.ManufacturerModelName = "ACME CT 64"
    ds.StationName = "ACMECT1"
    ds.PatientName = "TEST^ACME"
    ds.PatientID = "ACME0001"
    ds.StudyDate, ds.StudyTime = "20261127", "101500"
    block = ds.private_block(GROUP, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "DS", "412.6")
    block.add_new(0x02, "LO", ["Scout", "Abdomen routine"])
    block.add_new(0x03, "DS", ["120", "100"])
    block.add_new(0x04, "DS", ["20", "180"])
    block.add_new(0x05, "DS", ["0.1", "9.8"])
    block.add_new(0x06, "DS", ["2.6", "410"])
    block.add_new(0x07, "CS", ["BODY", "BODY"])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    example_dataset().save_as(sys.argv[1], enforce_file_format=True)
