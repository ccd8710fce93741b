"""Source specifications: the one-line strings and the config model that name a
frame source.

String forms (options after `?`, `&`-separated):

    screen                         monitor 1, whole
    screen:0                       all monitors (mss index 0); screen:2 the second
    screen:1@100,100,800,600       region x,y,w,h inside monitor 1   (?fps=5)
    device:0                       /dev/video0 via V4L2
    device:/dev/video2?width=1920&height=1080&fps=30&fourcc=MJPG
    file:session.mp4?pace=1&loop=1
    folder:frames/?fps=2&loop=1
    dicom:sc.dcm    dicom:studies/
    udp://127.0.0.1:5000?overrun_nonfatal=1     (tcp, http, https, rtsp, rtsps, rtmp, rtp, srt)
    stream:rtsp://encoder/live#rtsp_transport=tcp&read_timeout=3

A stream URL's query belongs to FFmpeg; qcedge options for a stream go after
`#`, and any `#` option that is not a spec field is passed to FFmpeg as an
AVOption (rtsp_transport=tcp). Options valid for every kind: id, reconnect,
backoff_initial, backoff_max.

In the station's TOML config, `source` is either such a string or a table:

    [source]
    kind = "device"
    device = "/dev/video0"
    width = 1920
    height = 1080
    fourcc = "MJPG"
"""
from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qcedge.capture.errors import SourceSpecError
from qcedge.capture.opencv_source import BACKENDS, STREAM_SCHEMES

Kind = Literal["screen", "device", "stream", "file", "folder", "dicom"]
KINDS: tuple[str, ...] = ("screen", "device", "stream", "file", "folder", "dicom")

COMMON = ("id", "reconnect", "backoff_initial", "backoff_max")
APPLIES: dict[str, tuple[str, ...]] = {
    "screen": ("monitor", "region", "fps"),
    "device": ("device", "width", "height", "fps", "fourcc", "backend", "open_timeout", "read_timeout"),
    "stream": ("url", "open_timeout", "read_timeout", "options"),
    "file": ("path", "pace", "loop"),
    "folder": ("path", "fps", "loop"),
    "dicom": ("path", "fps", "loop"),
}
TARGET = {"device": "device", "stream": "url", "file": "path", "folder": "path", "dicom": "path"}

USAGE = ("screen[:MONITOR][@x,y,w,h], device:INDEX|PATH, file:PATH, folder:PATH, dicom:PATH, "
         f"stream:URL or a URL ({', '.join(s + '://' for s in STREAM_SCHEMES)})")


class SourceSpec(BaseModel):
    """Which frame source to open, and how. Validates like a station config section.

    `SourceSpec.model_validate("screen:1")` and a dict/TOML table both work;
    `SourceSpec.parse(text)` does the same for a string with a one-line error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = Field(description="screen, device, stream, file, folder or dicom")
    id: str | None = Field(None, description="source id in frames and records (default: from the spec)")
    # screen
    monitor: int = Field(1, ge=0, description="mss monitor index: 0 = all monitors, 1 = first")
    region: tuple[int, int, int, int] | None = Field(None, description="x, y, w, h inside the monitor")
    # device
    device: int | str = Field(0, description="device index or path (/dev/video0)")
    width: int | None = Field(None, gt=0)
    height: int | None = Field(None, gt=0)
    fourcc: str | None = Field(None, description="pixel format asked of the device: MJPG, YUYV, ...")
    backend: str = Field("v4l2", description="OpenCV backend for devices: v4l2, any, ffmpeg, gstreamer")
    # stream
    url: str | None = None
    options: dict[str, str] = Field(default_factory=dict, description="FFmpeg AVOptions for streams")
    open_timeout: float = Field(10.0, gt=0, description="seconds")
    read_timeout: float = Field(5.0, gt=0, description="seconds without a frame before the stream counts as failed")
    # files
    path: str | None = None
    pace: float = Field(0.0, ge=0, description="file: 0 = unpaced, 1 = real time, 2 = double speed")
    loop: bool = False
    # screen rate limit, device mode, folder/dicom pacing
    fps: float | None = Field(None, gt=0)
    # reconnect policy (used by capture.factory.reconnecting_source / open_source(reconnect=True))
    reconnect: bool = True
    backoff_initial: float = Field(1.0, gt=0, description="first wait after a failure, seconds")
    backoff_max: float = Field(32.0, gt=0, description="longest wait between attempts, seconds")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = parse_spec_string(data)
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in data if k not in cls.model_fields)
            if unknown:
                kind = data.get("kind")
                takes = APPLIES.get(kind, ()) + COMMON if isinstance(kind, str) else tuple(cls.model_fields)
                raise ValueError(f"unknown option {', '.join(unknown)}"
                                 + (f" for {kind} sources" if kind in APPLIES else "")
                                 + f" (known: {', '.join(takes)})")
        return data

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value

    @field_validator("region", mode="before")
    @classmethod
    def _region(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",")]
            if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError(f"region must be x,y,w,h in pixels, got {value!r}")
            value = tuple(int(p) for p in parts)
        return value

    @field_validator("fourcc")
    @classmethod
    def _fourcc(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 4:
            raise ValueError(f"fourcc must be 4 characters (MJPG, YUYV, H264), got {value!r}")
        return value

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        if value.lower() not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {value!r}")
        return value.lower()

    @model_validator(mode="after")
    def _consistent(self) -> "SourceSpec":
        allowed = set(APPLIES[self.kind]) | set(COMMON) | {"kind"}
        foreign = sorted(set(self.model_fields_set) - allowed)
        if foreign:
            raise ValueError(f"option {', '.join(foreign)} does not apply to {self.kind} sources "
                             f"(they take: {', '.join(APPLIES[self.kind] + COMMON)})")
        target = TARGET.get(self.kind)
        if target and target != "device" and not getattr(self, target):
            raise ValueError(f"a {self.kind} source needs {target}")
        if self.region is not None:
            x, y, w, h = self.region
            if x < 0 or y < 0 or w <= 0 or h <= 0:
                raise ValueError(f"region must have x,y >= 0 and w,h > 0, got {x},{y},{w},{h}")
        if self.kind == "stream":
            scheme = self.url.split("://", 1)[0].lower() if self.url and "://" in self.url else ""
            if scheme not in STREAM_SCHEMES:
                raise ValueError(f"stream url must start with one of {', '.join(s + '://' for s in STREAM_SCHEMES)}"
                                 f", got {self.url!r}")
        if self.kind == "device" and isinstance(self.device, str) and not self.device:
            raise ValueError("a device source needs a device index or path")
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be smaller than backoff_initial")
        return self

    @classmethod
    def parse(cls, text: str) -> "SourceSpec":
        """Parse a spec string; a bad one raises ValueError with a one-line message."""
        try:
            return cls.model_validate(text)
        except ValidationError as exc:
            msg = _first_error(exc)
            raise SourceSpecError(msg if msg.startswith("bad source spec") else f"bad source spec {text!r}: {msg}") from None

    @property
    def live(self) -> bool:
        """Real-time (screen, device, stream) rather than recorded (file, folder, DICOM); see FrameSource.live."""
        return self.kind in ("screen", "device", "stream")

    @property
    def source_id(self) -> str:
        """The id frames from this source carry."""
        if self.id:
            return self.id
        if self.kind == "screen":
            text = f"screen:{self.monitor}"
            return text + ("@" + ",".join(map(str, self.region)) if self.region else "")
        if self.kind == "device":
            return f"device:{self.device}"
        if self.kind == "stream":
            from qcedge.capture.opencv_source import redact_url

            return redact_url(self.url or "")
        return f"{self.kind}:{self.path}"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
    msg = str(err.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _options(query: str, text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if key in out:
            raise SourceSpecError(f"bad source spec {text!r}: option {key!r} given twice")
        out[key] = value
    if query and not out:
        raise ValueError(f"bad source spec {text!r}: cannot read options {query!r} (use key=value&key=value)")
    return out


def parse_spec_string(text: str) -> dict[str, Any]:
    """The fields of a spec string (see the module docstring); ValueError if it is not one."""
    text = text.strip()
    if not text:
        raise ValueError(f"empty source spec; use {USAGE}")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if text.lower().startswith("stream:"):
        text_url = text[len("stream:"):]
        scheme = text_url.split("://", 1)[0].lower() if "://" in text_url else ""
        if scheme not in STREAM_SCHEMES:
            raise ValueError(f"bad source spec {text!r}: stream: needs a URL "
                             f"({', '.join(s + '://' for s in STREAM_SCHEMES)})")
        return _stream_fields(text_url, text)
    if scheme:
        if scheme not in STREAM_SCHEMES:
            raise ValueError(f"bad source spec {text!r}: unknown URL scheme {scheme!r}; use {USAGE}")
        return _stream_fields(text, text)
    head, _, query = text.partition("?")
    kind, _, target = head.partition(":")
    kind = kind.strip().lower()
    kind_only = kind.split("@", 1)[0]
    if kind_only not in KINDS or kind_only == "stream":
        raise ValueError(f"bad source spec {text!r}: unknown kind {kind_only!r}; use {USAGE}")
    fields: dict[str, Any] = {"kind": kind_only}
    fields.update(_options(query, text))
    if kind_only == "screen":
        rest = head[len("screen"):]
        rest = rest[1:] if rest.startswith(":") else rest
        monitor, _, region = rest.partition("@")
        if monitor.strip():
            if not monitor.strip().isdigit():
                raise ValueError(f"bad source spec {text!r}: monitor must be a number (0 = all, 1 = first)")
            fields["monitor"] = int(monitor)
        if "@" in rest:
            fields["region"] = region
        return fields
    if not target.strip():
        raise ValueError(f"bad source spec {text!r}: {kind_only}: needs a "
                         f"{'device index or path' if kind_only == 'device' else 'path'}")
    fields[TARGET[kind_only]] = target.strip()
    return fields


def _stream_fields(url: str, text: str) -> dict[str, Any]:
    url, _, fragment = url.partition("#")
    fields: dict[str, Any] = {"kind": "stream", "url": url}
    ffmpeg: dict[str, str] = {}
    for key, value in _options(fragment, text).items():
        if key in APPLIES["stream"] or key in COMMON:
            if key in ("url", "options"):
                raise ValueError(f"bad source spec {text!r}: {key} cannot be set after #")
            fields[key] = value
        else:
            ffmpeg[key] = value
    if ffmpeg:
        fields["options"] = ffmpeg
    return fields


def as_spec(spec: SourceSpec | str | dict[str, Any]) -> SourceSpec:
    """A SourceSpec from a spec, a spec string or a mapping; ValueError if it is bad."""
    if isinstance(spec, SourceSpec):
        return spec
    if isinstance(spec, str):
        return SourceSpec.parse(spec)
    try:
        return SourceSpec.model_validate(spec)
    except ValidationError as exc:
        msg = _first_error(exc)
        raise SourceSpecError(msg if msg.startswith("bad source spec") else f"bad source spec: {msg}") from None
