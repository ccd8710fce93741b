"""The root of the feed client's errors (record, protocol, outbox, keys, rules, knowledge base)."""
from __future__ import annotations


class QcClientError(Exception):
    """Base of every error raised on purpose by `qc_client`. Bad input also derives from ValueError."""
