"""Direct interfaces beside OCR: DICOM files and network (pydicom, pynetdicom), a standard CT dose
report (RDSR) from a dose-screen record, HTTP and DICOMweb (httpx), and vendor parsers found
through the entry-point group `qcedge.connectors`. Imports only `qc_client` of our packages.

See docs/connectors.md.
"""
