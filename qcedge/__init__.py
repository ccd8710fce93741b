"""qcedge: the workstation-side kit for acquisition QC (composition root: CLI, config, daemon)."""
__version__ = "0.1.0"
