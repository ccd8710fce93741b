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

Policy = Literal["send", "hash", "drop"]


class ConfigError(Exception):
    """A station config that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StationSection(_Section):
    """Who this station is."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)
    site: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=128)


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

    endpoint: str
    outbox: Path
    server_key: Path | None = None
    station_key: Path | None = None
    # Secret half of the station's key pair; the public half sits beside it or is derived.

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if not re.match(r"^(tcp://[^\s:]+:\d+|ipc://\S+)$", v):
            raise ValueError("an endpoint looks like tcp://host:port (or ipc://path)")
        return v

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


class UnknownSection(_Section):
    """Screens no template matches: optionally keep the frame for the integrator."""

    save_folder: Path | None = None
    max_saved: int = Field(default=200, ge=0)


class StatusSection(_Section):
    """The health file the daemon keeps (read by `qcedge status`)."""

    file: Path
    interval: float = Field(default=2.0, gt=0)


class LoggingSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = Field(default=True, alias="json")
    file: Path | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class StationConfig(_Section):
    """The whole station config file."""

    station: StationSection
    source: dict[str, Any] | str
    templates: TemplatesSection
    detection: DetectionSection = DetectionSection()
    feed: FeedSection
    privacy: PrivacySection = PrivacySection()
    unknown: UnknownSection = UnknownSection()
    status: StatusSection
    logging: LoggingSection = LoggingSection()

    path: Path | None = Field(default=None, exclude=True)

    def source_spec(self) -> Any:
        """The capture SourceSpec for [source]."""
        return build_source_spec(self.source)


def build_source_spec(data: dict[str, Any] | str) -> Any:
    """Turn [source] (a table or a spec string) into a capture.SourceSpec."""
    from capture import SourceSpec

    return SourceSpec.model_validate(data)


_PATH_KEYS = {
    "templates": ("folder",),
    "feed": ("outbox", "server_key", "station_key"),
    "privacy": ("secret_file",),
    "unknown": ("save_folder",),
    "status": ("file",),
    "logging": ("file",),
}
_SOURCE_PATH_KEYS = ("path",)


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
            from capture.spec import parse_spec_string

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
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path, base=path.resolve().parent, check_secret=check_secret)
