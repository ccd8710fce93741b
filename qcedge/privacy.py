"""The station's privacy policy, applied to a record before it enters the outbox.

Fields a template flags `personal` are sent, hashed with the site secret
(HMAC-SHA256, so the same patient ID gives the same token at one site and no
dictionary of IDs can reverse it without the secret), or dropped. The raw text
of a hashed field never leaves; field crops of personal fields are never
attached; the record identity is re-keyed with the secret when it was derived
from personal values.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from qcedge.qc_client.record import FieldValue, Record
from qcedge.config import PrivacySection

HASH_PREFIX = "hmac-sha256:"


def _normal(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return unicodedata.normalize("NFKC", text).strip().upper()


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _clear_strings(fv: FieldValue) -> set[str]:
    """The raw text and value of a personal field (and of its table cells), as they could appear in messages."""
    out = {fv.text.strip(), str(fv.value).strip() if fv.value is not None else ""}
    for row in fv.rows or []:
        for cell in row.values():
            out |= _clear_strings(cell)
    return {s for s in out if len(s) >= 2}


def _mentions(message: str, clear: set[str]) -> bool:
    return any(s in message for s in clear)


def _redact(message: str, clear: set[str]) -> str:
    """A validation reason or check message without the personal text it may quote."""
    for s in sorted(clear, key=len, reverse=True):
        message = message.replace(s, "<personal>")
    return _QUOTED.sub("'<personal>'", message)


@dataclass
class PrivacyPolicy:
    """Applies [privacy] to records. `secret` is the site secret (never logged or repr'd)."""

    section: PrivacySection
    secret: bytes | None = None

    def __repr__(self) -> str:  # keep the secret out of any log or traceback
        return f"PrivacyPolicy(default={self.section.default!r}, fields={self.section.fields!r}, secret={'set' if self.secret else 'none'})"

    @classmethod
    def from_section(cls, section: PrivacySection) -> "PrivacyPolicy":
        return cls(section, section.read_secret())

    def token(self, value: Any) -> str:
        """The keyed hash of a personal value (case and width normalised)."""
        if not self.secret:
            raise RuntimeError("hashing needs the site secret")
        digest = hmac.new(self.secret, _normal(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest

    def _hashed(self, fv: FieldValue) -> FieldValue:
        rows = None
        if fv.rows is not None:
            rows = [{k: self._hashed(cell) for k, cell in row.items()} for row in fv.rows]
        value = None if fv.value is None else self.token(fv.value)
        secrets = _clear_strings(fv)
        return fv.model_copy(update={"value": value, "text": "", "rows": rows,
                                     "reasons": [_redact(r, secrets) for r in fv.reasons]})

    def apply(self, record: Record, identity_fields: list[str] | None = None) -> Record:
        """A copy of `record` with the policy applied."""
        fields: dict[str, FieldValue] = {}
        protected: set[str] = set()
        for name, fv in record.fields.items():
            if not fv.personal:
                fields[name] = fv
                continue
            policy = self.section.policy_for(name)
            if policy == "send":
                fields[name] = fv
                continue
            protected.add(name)
            if policy == "hash":
                fields[name] = self._hashed(fv)
            # drop: left out entirely
        clear: set[str] = set()
        for name in protected:
            clear |= _clear_strings(record.fields[name])
        checks = [c.model_copy(update={"message": _redact(c.message, clear)}) if _mentions(c.message, clear) else c
                  for c in record.checks]
        crops = {}
        if self.section.attach_crops:
            crops = {k: v for k, v in record.evidence.crops.items() if k not in protected}
        identity = record.identity
        idents = set(identity_fields or record.fields)
        if identity and idents & protected:
            if self.secret:
                identity = hmac.new(self.secret, identity.encode(), hashlib.sha256).hexdigest()[:32]
            else:
                identity = self._identity_without(record, protected)
        return record.model_copy(update={
            "fields": fields,
            "checks": checks,
            "identity": identity,
            "evidence": record.evidence.model_copy(update={"crops": crops}),
        })

    @staticmethod
    def _identity_without(record: Record, protected: set[str]) -> str:
        key = {"template": record.template.id if record.template else None,
               **{n: fv.value for n, fv in sorted(record.fields.items()) if n not in protected}}
        return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:32]
