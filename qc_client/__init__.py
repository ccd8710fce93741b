"""The record schema, the durable outbox, the feed client and the reference receiver."""
from qc_client.record import CheckValue, FieldValue, Record, TemplateRef

__all__ = ["CheckValue", "FieldValue", "Record", "TemplateRef"]
