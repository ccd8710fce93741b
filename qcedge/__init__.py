"""qcedge: the workstation-side kit for acquisition QC.

`qcedge` itself is the composition root (CLI, station config, the capture daemon's wiring). The
kit's parts are its subpackages: `qcedge.capture`, `qcedge.ocr_templates`, `qcedge.rpa_flows`,
`qcedge.connectors`, `qcedge.qc_client`, `qcedge.central`, `qcedge.teaching_mode`. Installed, they
sit inside this package (setup.py maps them there); in a checkout they are the repository's
top-level folders, which the lines below add to this package's search path, so the same import
names work in both. Nothing the kit installs claims a top-level name other than `qcedge`.
"""
from pathlib import Path as _Path

__version__ = "0.1.0"

_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "setup.py").is_file() and (_checkout / "capture" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # type: ignore[name-defined]  # a checkout: the parts are its folders
