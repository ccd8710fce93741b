"""The record schema, the durable outbox, the feed client and the reference receiver.

    from qcedge.qc_client import Outbox, FeedClient, Receiver, Record
"""
from qcedge.qc_client.record import CheckValue, Evidence, FieldValue, Record, TemplateRef

__all__ = ["CheckValue", "Evidence", "FieldValue", "Record", "TemplateRef", "Outbox", "FeedClient", "Feedback",
           "FeedStats", "Receiver", "Arrival", "ClientKeys", "ServerKeys", "RuleSet", "load_rules", "ProtocolError",
           "MessageTooLarge"]


def __getattr__(name: str):  # lazy: importing the record schema does not pull in zmq or sqlite
    if name in ("Outbox",):
        from qcedge.qc_client.outbox import Outbox
        return Outbox
    if name in ("FeedClient", "Feedback", "FeedStats"):
        from qcedge.qc_client import client
        return getattr(client, name)
    if name in ("Receiver", "Arrival"):
        from qcedge.qc_client import receiver
        return getattr(receiver, name)
    if name in ("ClientKeys", "ServerKeys"):
        from qcedge.qc_client import keys
        return getattr(keys, name)
    if name in ("RuleSet", "load_rules"):
        from qcedge.qc_client import rules
        return getattr(rules, name)
    if name in ("ProtocolError", "MessageTooLarge"):
        from qcedge.qc_client import protocol
        return getattr(protocol, name)
    raise AttributeError(f"module 'qc_client' has no attribute {name!r}")
