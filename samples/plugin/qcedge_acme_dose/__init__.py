"""qcedge connector plugin for ACME Medical CT dose-info objects (private SOP class and tags)."""
from __future__ import annotations

from pydicom.dataset import Dataset

ACME_DOSE_INFO_CLASS = "2.25.91848413371104726637441926911497375522"
PRIVATE_CREATOR = "ACME DOSE 1.0"
GROUP = 0x0019

# element offset -> column name in the record's `series` table
COLUMNS = {0x02: "protocol", 0x03: "kv", 0x04: "mas", 0x05: "ctdivol", 0x06: "dlp", 0x07: "phantom"}


def _values(block, offset: int) -> list:
    if offset not in block:
        return []
    value = block[offset].value
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


class AcmeDoseParser:
    """Adds `total_dlp` and a `series` table from ACME's private dose tags."""

    name = "acme_dose"

    def accepts(self, ds: Dataset) -> bool:
        if str(ds.get("SOPClassUID", "")) == ACME_DOSE_INFO_CLASS:
            return True
        try:
            ds.private_block(GROUP, PRIVATE_CREATOR)
            return True
        except KeyError:
            return False

    def parse(self, ds: Dataset, record):
        from qcedge.qc_client.record import FieldValue  # qcedge's record schema

        block = ds.private_block(GROUP, PRIVATE_CREATOR)
        if 0x01 in block:
            total = float(block[0x01].value)
            record.fields["total_dlp"] = FieldValue(value=total, text=f"{total:g} mGy.cm")
        columns = {name: _values(block, off) for off, name in COLUMNS.items()}
        count = max((len(v) for v in columns.values()), default=0)
        rows = []
        for i in range(count):
            row = {}
            for name, values in columns.items():
                if i < len(values):
                    raw = values[i]
                    value = str(raw).strip() if name in ("protocol", "phantom") else float(raw)
                    if name == "phantom":
                        value = {"HEAD": "16", "BODY": "32"}.get(value.upper(), value)
                    row[name] = FieldValue(value=value, text=str(raw))
            rows.append(row)
        if rows:
            record.fields["series"] = FieldValue(
                value=[{k: fv.value for k, fv in r.items()} for r in rows], text=f"{len(rows)} acquisitions", rows=rows,
            )
        record.fields["vendor_parser"] = FieldValue(value=self.name, text=self.name)
        record.modality = "CT"
        return record
