"""QC rules for the reference receiver: a stand-in for the central QC engine's first answer.

A rules file (YAML, or TOML with a .toml suffix) holds rules in four layers, as
a consortium's knowledge base is layered:

    schema: qcedge.rules/1
    national:   [rule, ...]
    consortium: [rule, ...]
    hospital:   {SITE_ID: [rule, ...], ...}
    station:    {STATION_ID: [rule, ...], ...}

For a record from site S and station T the effective rules are national, then
consortium, then hospital[S], then station[T]; an entry with the same `id` in a
more specific layer is merged over the inherited one key by key (so a hospital
can lower one threshold, or set `enabled: false`). See docs/feed.md.
"""
from __future__ import annotations

import fnmatch
import logging
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from qcedge.qc_client.errors import QcClientError
from qcedge.qc_client.record import FieldValue, Record

log = logging.getLogger(__name__)

LAYERS = ("national", "consortium", "hospital", "station")
LEVEL_ORDER = {"ok": 0, "info": 1, "warn": 2, "alert": 3}


class RulesError(QcClientError, ValueError):
    """A rules file that cannot be used: names the file, the place and the problem."""


class Rule(BaseModel):
    """One rule. `check` is one of:

    - `max`: a numeric field above `warn` / `alert` (`field: table.column` checks every row);
    - `min`: a numeric field below `warn` / `alert`;
    - `required`: the field is missing or empty (level `level`);
    - `status`: the record has status `status` (default needs_review);
    - `checks`: a cross-field check of the template failed.

    `modality` and `template` (glob patterns, case-insensitive) restrict where it applies.
    `message` is a format string with {field} {value} {limit} {unit} {level} {layer} {rule} {row}.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    check: Literal["max", "min", "required", "status", "checks"]
    modality: str | list[str] | None = None
    template: str | list[str] | None = None
    field: str | None = None
    warn: float | None = None
    alert: float | None = None
    level: Literal["info", "warn", "alert"] = "warn"
    status: Literal["complete", "needs_review"] = "needs_review"
    unit: str = ""
    message: str | None = None
    enabled: bool = True
    layer: str = "national"  # set by the loader: the most specific layer that touched the rule
    origins: dict[str, str] = {}  # set by the loader: key -> the layer that set it

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        if self.check in ("max", "min", "required") and not self.field:
            raise ValueError(f"check '{self.check}' needs a 'field'")
        if self.check in ("max", "min"):
            if self.warn is None and self.alert is None:
                raise ValueError(f"check '{self.check}' needs 'warn' and/or 'alert' thresholds")
            if self.warn is not None and self.alert is not None:
                if (self.check == "max" and self.alert < self.warn) or (self.check == "min" and self.alert > self.warn):
                    raise ValueError(f"'alert' {self.alert} is less strict than 'warn' {self.warn}")
        return self

    def applies_to(self, record: Record) -> bool:
        if not self.enabled:
            return False
        if self.modality is not None and not _glob_any(self.modality, record.modality or ""):
            return False
        if self.template is not None and not _glob_any(self.template, record.template.id if record.template else ""):
            return False
        return True


def _glob_any(patterns: str | list[str], value: str) -> bool:
    pats = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in pats)


@dataclass(frozen=True)
class Finding:
    """What a rule found about a record: the feedback sent back to the station."""

    rule: str
    level: str
    message: str
    layer: str
    field: str | None = None
    value: float | None = None
    limit: float | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"level": self.level, "message": self.message, "rule": self.rule, "layer": self.layer}
        if self.field is not None:
            out["field"] = self.field
        if self.value is not None:
            out["value"] = self.value
        if self.limit is not None:
            out["limit"] = self.limit
        return out


def _lookup(fields: dict[str, FieldValue], name: str) -> FieldValue | None:
    if name in fields:
        return fields[name]
    low = name.lower()
    for key, value in fields.items():
        if key.lower() == low:
            return value
    return None


def _number(fv: FieldValue) -> float | None:
    value = fv.value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _values(record: Record, path: str) -> list[tuple[str | None, FieldValue]]:
    """(row label, field value) pairs for `field` or `table.column`."""
    fv = _lookup(record.fields, path)
    if fv is not None:
        return [(None, fv)]
    if "." in path:
        table, column = path.split(".", 1)
        tv = _lookup(record.fields, table)
        if tv is not None and tv.rows:
            out = []
            for i, row in enumerate(tv.rows, 1):
                cell = _lookup(row, column)
                if cell is not None:
                    out.append((str(i), cell))
            return out
    return []


def _empty(fv: FieldValue | None) -> bool:
    if fv is None:
        return True
    if fv.rows is not None:
        return len(fv.rows) == 0
    return fv.value is None or (isinstance(fv.value, str) and not fv.value.strip())


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


class _Hit(NamedTuple):
    """A value beyond a rule's threshold: the level it reaches, the value, the threshold and its table row."""

    level: str
    number: float
    limit: float
    row: str | None


class RuleSet:
    """Rules of one file, layered; `evaluate(record)` gives the findings for a record."""

    def __init__(self, raw: dict[str, Any], source: str = "<rules>") -> None:
        self.source = source
        self.raw = raw
        self.ok_feedback = bool(raw.get("ok_feedback", False))
        self._cache: dict[tuple[str, str], list[Rule]] = {}
        self._check_shape()
        # validate every combination the file names, so errors show at load time
        for site in [None, *raw.get("hospital", {}).keys()]:
            self.rules_for(site or "", "")
        for station in raw.get("station", {}).keys():
            self.rules_for("", station)

    def _check_shape(self) -> None:
        raw = self.raw
        allowed = {"schema", "ok_feedback", *LAYERS}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise RulesError(f"{self.source}: unknown top-level key(s) {', '.join(unknown)} "
                             f"(expected {', '.join(sorted(allowed))})")
        if raw.get("schema", "qcedge.rules/1") != "qcedge.rules/1":
            raise RulesError(f"{self.source}: schema {raw.get('schema')!r} is not qcedge.rules/1")
        for layer in ("national", "consortium"):
            self._check_list(raw.get(layer, []), layer)
        for layer in ("hospital", "station"):
            scoped = raw.get(layer, {})
            if not isinstance(scoped, dict):
                raise RulesError(f"{self.source}: '{layer}' must map {'site' if layer == 'hospital' else 'station'} "
                                 f"ids to lists of rules")
            for key, entries in scoped.items():
                self._check_list(entries, f"{layer}.{key}")

    def _check_list(self, entries: Any, where: str) -> None:
        if not isinstance(entries, list):
            raise RulesError(f"{self.source}: '{where}' must be a list of rules")
        seen = set()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
                raise RulesError(f"{self.source}: {where}[{i}]: every rule needs an 'id' (text)")
            if entry["id"] in seen:
                raise RulesError(f"{self.source}: {where}: rule id {entry['id']!r} appears twice")
            seen.add(entry["id"])
            for reserved in ("layer", "origins"):
                if reserved in entry:
                    raise RulesError(f"{self.source}: {where}: rule {entry['id']!r}: '{reserved}' is set by the "
                                     f"file's structure")

    def rules_for(self, site: str, station: str) -> list[Rule]:
        """Effective rules for a site and station, most specific layer merged last."""
        key = (site, station)
        if key in self._cache:
            return self._cache[key]
        merged: dict[str, dict[str, Any]] = {}
        layers = [("national", self.raw.get("national", [])), ("consortium", self.raw.get("consortium", [])),
                  (f"hospital.{site}", self.raw.get("hospital", {}).get(site, [])),
                  (f"station.{station}", self.raw.get("station", {}).get(station, []))]
        for layer, entries in layers:
            for entry in entries:
                base = merged.get(entry["id"], {})
                origins = {**base.get("origins", {}), **{k: layer for k in entry}}
                merged[entry["id"]] = {**base, **entry, "layer": layer, "origins": origins}
        rules = []
        for rid, data in merged.items():
            try:
                rules.append(Rule.model_validate(data))
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'rule'}: {e['msg']}" for e in exc.errors())
                raise RulesError(f"{self.source}: rule {rid!r} (as merged for {data['layer']}): {problems}") from None
        self._cache[key] = rules
        return rules

    def evaluate(self, record: Record) -> list[Finding]:
        """Findings for a record, most severe first. With `ok_feedback`, an 'ok' finding when none fire."""
        findings: list[Finding] = []
        for rule in self.rules_for(record.site, record.station):
            if rule.applies_to(record):
                findings.extend(self._apply(rule, record))
        findings.sort(key=lambda f: -LEVEL_ORDER[f.level])
        if not findings and self.ok_feedback:
            findings.append(Finding(rule="ok", level="ok", message="no QC findings", layer="receiver"))
        return findings

    def _message(self, rule: Rule, default: str, **values: Any) -> str:
        ctx = {"rule": rule.id, "layer": rule.layer.split(".")[0], "unit": rule.unit, "field": rule.field,
               "value": "", "limit": "", "level": "", "row": ""}
        ctx.update(values)
        template = rule.message or default
        try:
            return template.format(**ctx).replace("  ", " ").strip()
        except (KeyError, IndexError, ValueError):
            return default.format(**ctx).replace("  ", " ").strip()

    def _apply(self, rule: Rule, record: Record) -> list[Finding]:
        if rule.check in ("max", "min"):
            worst: _Hit | None = None
            for row, fv in _values(record, rule.field or ""):
                if fv.personal or not fv.valid:
                    continue  # never echo personal values; unreliable readings are flagged by status
                number = _number(fv)
                if number is None:
                    continue
                for level in ("alert", "warn"):
                    limit = getattr(rule, level)
                    if limit is None:
                        continue
                    hit = number > limit if rule.check == "max" else number < limit
                    if hit:
                        if worst is None or LEVEL_ORDER[level] > LEVEL_ORDER[worst.level] or (
                                level == worst.level
                                and (number > worst.number if rule.check == "max" else number < worst.number)):
                            worst = _Hit(level, number, limit, row)
                        break
            if worst is None:
                return []
            level, number, limit, row = worst
            where = f" (row {row})" if row else ""
            word = "above" if rule.check == "max" else "below"
            # the value itself travels in the body ("value"), not in the text, which stations log
            default = "{field}{where} is " + word + " the {layer} {level} level {limit} {unit}"
            # name the layer that set the threshold used (a station may change only the other one)
            layer = rule.origins.get(level, rule.layer)
            msg = self._message(rule, default.replace("{where}", where), value=_fmt(number), limit=_fmt(limit),
                                level=level, row=row or "", layer=layer.split(".")[0])
            return [Finding(rule=rule.id, level=level, message=msg, layer=layer, field=rule.field,
                            value=number, limit=limit)]
        if rule.check == "required":
            values = _values(record, rule.field or "")
            if values and not any(_empty(fv) for _, fv in values):
                return []
            msg = self._message(rule, "required field {field} is missing", level=rule.level)
            return [Finding(rule=rule.id, level=rule.level, message=msg, layer=rule.layer, field=rule.field)]
        if rule.check == "status":
            if record.status != rule.status:
                return []
            reasons = sorted({name for name, fv in record.fields.items() if not fv.valid})
            default = ("record needs review" if rule.status == "needs_review" else f"record is {rule.status}") + (
                f" (fields: {', '.join(reasons)})" if reasons else "")
            msg = self._message(rule, default, level=rule.level)
            return [Finding(rule=rule.id, level=rule.level, message=msg, layer=rule.layer)]
        if rule.check == "checks":
            failed = [c.name for c in record.checks if not c.ok]
            if not failed:
                return []
            msg = self._message(rule, f"check(s) failed: {', '.join(failed)}", level=rule.level)
            return [Finding(rule=rule.id, level=rule.level, message=msg, layer=rule.layer)]
        return []


def parse_rules(text: str, source: str = "<rules>", *, toml: bool = False) -> RuleSet:
    try:
        raw = tomllib.loads(text) if toml else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"{source}: not valid {'TOML' if toml else 'YAML'}: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise RulesError(f"{source}: expected a mapping at the top level")
    return RuleSet(raw, source)


def load_rules(path: str | Path) -> RuleSet:
    """Load a rules file (.yaml/.yml, or .toml). Raises RulesError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{p}: cannot read ({exc.strerror})") from None
    return parse_rules(text, str(p), toml=p.suffix.lower() == ".toml")
