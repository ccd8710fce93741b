"""The station config: one TOML file, validated on load with errors that name the key.

See docs/station.md for every key with an example. Relative paths in the file
are resolved against the folder the file sits in.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qcedge.errors import QcedgeError

Policy = Literal["send", "hash", "drop"]


class ConfigError(QcedgeError, ValueError):
    """A station config that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationSection(_Section):
    """Who this station is."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)
    site: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)

    @field_validator("id")
    @classmethod
    def _carried_by_the_feed(cls, v: str) -> str:
        from qcedge.qc_client.protocol import station_id_problem

        problem = station_id_problem(v)  # the id is the feed's ZeroMQ identity, compared byte for byte
        if problem is not None:
            raise ValueError(problem)
        return v


class TemplatesSection(_Section):
    """The template pack and the OCR engine that reads it."""

    folder: Path
    engine: Literal["ppocr", "tesseract"] = "ppocr"
    warm_up: bool = True


class DetectionSection(_Section):
    """How often frames are looked at and when a screen counts as settled."""

    fps: float = Field(default=5.0, gt=0, le=60)
    settle_frames: int = Field(default=3, ge=1, le=100)
    change_threshold: float | None = Field(default=None, gt=0)
    repeat_window: float = Field(default=12 * 3600.0, ge=0)


class FeedSection(_Section):
    """Where records go, and the outbox that keeps them until central acknowledges."""

    endpoint: str  # one endpoint, or several (a TOML list or one comma-separated string): failover in order
    outbox: Path
    server_key: Path | None = None
    station_key: Path | None = None
    # Secret half of the station's key pair; the public half sits beside it or is derived.

    @field_validator("endpoint", mode="before")
    @classmethod
    def _endpoint(cls, v: Any) -> str:
        items = v if isinstance(v, list) else v.split(",") if isinstance(v, str) else None
        if not items or not all(isinstance(e, str) for e in items):
            raise ValueError("give one endpoint (tcp://host:port) or a list of them")
        items = [e.strip() for e in items]
        for e in items:
            if not re.match(r"^(tcp://[^\s:,]+:\d+|ipc://[^\s,]+)$", e):
                raise ValueError("an endpoint looks like tcp://host:port (or ipc://path); several: a list or "
                                 "separated by commas")
        return ",".join(items)  # FeedClient takes several endpoints in one string

    @model_validator(mode="after")
    def _keys_together(self) -> "FeedSection":
        if (self.server_key is None) != (self.station_key is None):
            raise ValueError("CURVE needs both server_key and station_key (or neither)")
        return self


class PrivacySection(_Section):
    """What happens to fields a template flags as personal (patient name, patient ID)."""

    default: Policy = "drop"
    fields: dict[str, Policy] = Field(default_factory=dict)
    secret_file: Path | None = None
    secret_env: str | None = None
    attach_crops: bool = False

    @model_validator(mode="after")
    def _secret_for_hash(self) -> "PrivacySection":
        if self.secret_file is not None and self.secret_env is not None:
            raise ValueError("give the site secret as secret_file or secret_env, not both")
        uses_hash = self.default == "hash" or "hash" in self.fields.values()
        if uses_hash and self.secret_file is None and self.secret_env is None:
            raise ValueError("policy 'hash' needs a site secret: set secret_file or secret_env")
        return self

    def policy_for(self, name: str) -> Policy:
        return self.fields.get(name, self.default)

    def read_secret(self) -> bytes | None:
        """The site secret (never logged). Raises ConfigError if configured but unreadable."""
        if self.secret_file is not None:
            try:
                secret = self.secret_file.read_bytes().strip()
            except OSError as exc:
                raise ConfigError(f"[privacy] secret_file: cannot read {self.secret_file}: {exc.strerror or exc}") from None
            if not secret:
                raise ConfigError(f"[privacy] secret_file: {self.secret_file} is empty")
            return secret
        if self.secret_env is not None:
            value = os.environ.get(self.secret_env, "")
            if not value:
                raise ConfigError(f"[privacy] secret_env: environment variable {self.secret_env} is not set or empty")
            return value.encode()
        return None


class KbSection(_Section):
    """Knowledge-base releases pushed from central (docs/kb.md): central's public key, where releases live."""

    public_key: Path
    folder: Path  # releases/<version>, state.json, incoming/ (partial downloads, staging)
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    validate_templates: bool = True


class UnknownSection(_Section):
    """Screens no template matches: optionally keep the frame for the integrator."""

    save_folder: Path | None = None
    max_saved: int = Field(default=200, ge=0)


class StatusSection(_Section):
    """The health file the daemon keeps (read by `qcedge status`)."""

    file: Path
    interval: float = Field(default=2.0, gt=0)


class NotifySection(_Section):
    """How feedback is shown at the station (docs/station.md, "Feedback from central")."""

    window: bool = False  # the on-screen notifier (PySide6, on top, never takes the focus), acknowledged to central


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = Field(default=True, alias="json")
    file: Path | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class ServiceSection(_Section):
    """How `qcedge service install` runs this station under systemd, and `qcedge doctor`'s disk floor."""

    user: str = Field(default="qcedge", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    watchdog_sec: float = Field(default=60.0, ge=5, le=3600)
    restart_sec: float = Field(default=5.0, ge=0, le=3600)
    memory_max: str = "2G"
    cpu_quota: str = "100%"
    display: str = ":0"  # for screen sources
    xauthority: Path | None = None
    min_free_mb: float = Field(default=500.0, ge=0)

    @field_validator("memory_max", "cpu_quota", "display", mode="before")
    @classmethod
    def _systemd_value(cls, v: Any, info: Any) -> Any:
        patterns = {"memory_max": (r"^(\d+[KMGT]?|infinity)$", "a size such as 1536M or 2G (or infinity)"),
                    "cpu_quota": (r"^\d{1,4}%$", "a percentage of one core, such as 100% (150% = one and a half)"),
                    "display": (r"^[A-Za-z0-9_.-]*:\d+(\.\d+)?$", "an X display such as :0")}
        pattern, what = patterns[info.field_name]
        if not isinstance(v, str) or not re.match(pattern, v):
            raise ValueError(f"expected {what}, got {v!r}")
        return v


class StationConfig(_Section):
    """The whole station config file."""

    station: StationSection
    source: dict[str, Any] | str
    templates: TemplatesSection
    detection: DetectionSection = DetectionSection()
    feed: FeedSection
    kb: KbSection | None = None
    privacy: PrivacySection = PrivacySection()
    unknown: UnknownSection = UnknownSection()
    notify: NotifySection = NotifySection()
    status: StatusSection
    logging: LoggingSection = LoggingSection()
    service: ServiceSection = ServiceSection()

    path: Path | None = Field(default=None, exclude=True)

    def source_spec(self) -> Any:
        """The capture SourceSpec for [source]."""
        return build_source_spec(self.source)


def build_source_spec(data: dict[str, Any] | str) -> Any:
    """Turn [source] (a table or a spec string) into a capture.SourceSpec."""
    from qcedge.capture import SourceSpec

    return SourceSpec.model_validate(data)


_PATH_KEYS = {
    "templates": ("folder",),
    "feed": ("outbox", "server_key", "station_key"),
    "privacy": ("secret_file",),
    "unknown": ("save_folder",),
    "kb": ("public_key", "folder"),
    "status": ("file",),
    "logging": ("file",),
    "service": ("xauthority",),
}
_SOURCE_PATH_KEYS = ("path",)
_LOCAL_SOURCES = ("file", "folder", "dicom")  # kinds whose path must exist (devices may come and go)
MAX_DEPTH = 16  # tables and arrays in a station config are never nested deeper than this


def _depth_problem(data: Any) -> str | None:
    """Iteratively measure nesting (no recursion on hostile input)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"tables or arrays nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def _nul_problem(data: dict[str, Any]) -> str | None:
    """A path key holding a NUL character (no file system takes it)."""
    for section, keys in {**_PATH_KEYS, "source": _SOURCE_PATH_KEYS}.items():
        table = data.get(section)
        if isinstance(table, str) and section == "source" and "\0" in table:
            return "[source]: holds a NUL character"
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            if isinstance(value, str) and "\0" in value:
                return f"[{section}] {key}: holds a NUL character"
    return None


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for section, keys in _PATH_KEYS.items():
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            if isinstance(value, str) and value:
                p = Path(value).expanduser()
                table[key] = str(p if p.is_absolute() else base / p)
    source = data.get("source")
    if isinstance(source, str):
        try:
            from qcedge.capture.spec import parse_spec_string

            source = data["source"] = parse_spec_string(source)
        except (ImportError, ValueError):
            return  # reported when the spec is built
    if isinstance(source, dict):
        for key in _SOURCE_PATH_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value and "://" not in value:
                p = Path(value).expanduser()
                source[key] = str(p if p.is_absolute() else base / p)


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "(top level)"
    section, *rest = [str(x) for x in loc]
    if not rest:
        return f"[{section}]"
    return f"[{section}] " + ".".join(rest)


def _format_error(exc: ValidationError, path: str) -> str:
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "missing (required)"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key (see docs/station.md)"
        lines.append(f"{path}: {_where(tuple(err['loc']))}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], path: str | Path = "<config>", base: Path | None = None,
                 check_secret: bool = True) -> StationConfig:
    """Validate a parsed TOML mapping; relative paths resolve against `base`.

    With `check_secret`, the site secret must be readable (it is read, not kept).
    """
    problem = _depth_problem(data) or _nul_problem(data)
    if problem is not None:
        raise ConfigError(f"{path}: {problem}")
    if base is not None:
        _resolve_paths(data, base)
    try:
        config = StationConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, str(path))) from None
    try:
        config.source_spec()
    except ImportError:
        pass  # capture without SourceSpec: checked again when the daemon opens the source
    except ValidationError as exc:
        raise ConfigError(_format_error_prefixed(exc, str(path), "source")) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: [source]: {exc}") from None
    if check_secret:
        try:
            config.privacy.read_secret()  # fails early, naming the key, if the secret is unreadable
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return config.model_copy(update={"path": Path(path)})


def _format_error_prefixed(exc: ValidationError, path: str, section: str) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(x) for x in err["loc"])
        lines.append(f"{path}: [{section}]{' ' + key if key else ''}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def load_config(path: str | Path, check_secret: bool = True) -> StationConfig:
    """Read and validate a station config file. Raises ConfigError with a one-line-per-problem message."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: tables or arrays nested too deeply") from None
    return parse_config(data, path, base=path.resolve().parent, check_secret=check_secret)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _writable_file_problem(p: Path) -> str | None:
    """Why the daemon could not create or replace file `p` (its folders are made as needed), or None."""
    if p.is_dir():
        return f"{p} is a folder, not a file"
    parent = p.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create {p}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {p}: {parent} is not writable"
    if p.exists() and not os.access(p, os.W_OK):
        return f"cannot write {p}: permission denied"
    return None


def check_paths(config: StationConfig) -> list[str]:
    """Problems with the files and folders the daemon will use, each naming its key; [] if none.

    A local source (file, folder, DICOM) must exist; the outbox, status and log files must be
    creatable; the unknown-screens folder must not be a file. Nothing is created here.
    """
    where = config.path or "<config>"
    problems: list[str] = []
    source = config.source if isinstance(config.source, dict) else {}
    kind, target = source.get("kind"), source.get("path")
    if kind in _LOCAL_SOURCES and isinstance(target, str) and "://" not in target:
        if not Path(target).exists():
            problems.append(f"{where}: [source] path: {target} does not exist")
        elif kind == "file" and not Path(target).is_file():
            problems.append(f"{where}: [source] path: {target} is not a file")
    files = [("[feed] outbox", config.feed.outbox), ("[status] file", config.status.file)]
    if config.logging.file is not None:
        files.append(("[logging] file", config.logging.file))
    for key, p in files:
        problem = _writable_file_problem(p)
        if problem is not None:
            problems.append(f"{where}: {key}: {problem}")
    folder = config.unknown.save_folder
    if folder is not None and folder.exists() and not folder.is_dir():
        problems.append(f"{where}: [unknown] save_folder: {folder} is not a folder")
    return problems
