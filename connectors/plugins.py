"""Vendor-specific parsers found through the entry-point group `qcedge.connectors`.

A hospital's integrator ships a small package that declares, in its pyproject.toml:

    [project.entry-points."qcedge.connectors"]
    acme_dose = "qcedge_acme_dose:AcmeDoseParser"

The entry point names a class (made with no arguments), a function returning the plugin,
or the plugin object itself. A DICOM parser plugin has:

    name: str
    def accepts(self, ds: pydicom.Dataset) -> bool
    def parse(self, ds: pydicom.Dataset, record: qc_client.record.Record) -> Record | None

`parse` gets the record the kit built from the standard header (possibly almost empty for a
private SOP class) and returns it enriched (or a new one); None keeps the record as it was.
A plugin that fails to load or raises is logged and skipped: it never stops the kit.
"""
from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from pydicom.dataset import Dataset

from qcedge.qc_client.record import Record

log = logging.getLogger(__name__)

GROUP = "qcedge.connectors"


@runtime_checkable
class DicomParser(Protocol):
    name: str

    def accepts(self, ds: Dataset) -> bool: ...

    def parse(self, ds: Dataset, record: Record) -> Record | None: ...


@dataclass(slots=True)
class LoadedPlugin:
    name: str
    target: str
    distribution: str | None
    version: str | None
    obj: Any = None
    error: str | None = None

    @property
    def is_dicom_parser(self) -> bool:
        return self.obj is not None and isinstance(self.obj, DicomParser)


_lock = threading.Lock()
_cache: dict[str, list[LoadedPlugin]] = {}


def _instantiate(target: Any) -> Any:
    if inspect.isclass(target):
        return target()
    if inspect.isfunction(target) or inspect.isbuiltin(target):
        return target()
    return target


def load_plugins(group: str = GROUP, *, refresh: bool = False) -> list[LoadedPlugin]:
    """Load every entry point of `group` once (cached); failures are kept with their error."""
    with _lock:
        if not refresh and group in _cache:
            return list(_cache[group])
        loaded: list[LoadedPlugin] = []
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            plugin = LoadedPlugin(
                name=ep.name, target=ep.value,
                distribution=getattr(dist, "name", None), version=getattr(dist, "version", None),
            )
            try:
                plugin.obj = _instantiate(ep.load())
                if not getattr(plugin.obj, "name", None):
                    try:
                        plugin.obj.name = ep.name
                    except Exception:
                        pass
                log.info("loaded connector plugin %s (%s)", ep.name, ep.value)
            except Exception as exc:  # a broken plugin must not stop the kit
                plugin.error = f"{type(exc).__name__}: {exc}"
                log.warning("connector plugin %s (%s) failed to load: %s", ep.name, ep.value, plugin.error)
            loaded.append(plugin)
        _cache[group] = loaded
        return list(loaded)


def dicom_parsers(group: str = GROUP) -> list[DicomParser]:
    """The loaded plugins that are DICOM parsers, in entry-point name order."""
    return [p.obj for p in load_plugins(group) if p.is_dicom_parser]


def apply_parsers(ds: Dataset, record: Record, parsers: list[DicomParser]) -> tuple[Record, list[str]]:
    """Run every parser that accepts `ds`; returns the record and the names of those that ran."""
    used: list[str] = []
    for parser in parsers:
        name = getattr(parser, "name", type(parser).__name__)
        try:
            if not parser.accepts(ds):
                continue
            result = parser.parse(ds, record)
        except Exception as exc:
            log.warning("connector plugin %s failed on a dataset: %s: %s", name, type(exc).__name__, exc)
            continue
        if result is not None:
            if not isinstance(result, Record):
                log.warning("connector plugin %s returned %s, not a Record; ignored", name, type(result).__name__)
                continue
            record = result
        used.append(name)
    return record, used
