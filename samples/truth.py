"""Read the generated samples' ground truth (manifest.json, recording.json).

    from samples.truth import load_manifest, select, read_image, box_in_frame
    m = load_manifest("samples/generated")
    for entry in select(m, template_id="ct_dose_report", variant="hdmi"):
        frame = read_image(m, entry)                 # BGR uint8, 1080x1920
        box = box_in_frame(entry, [306, 130, 230, 24])  # a template box -> frame pixels
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np


def load_manifest(folder: str | Path) -> dict[str, Any]:
    """manifest.json of a generated folder; `_folder` is added so paths resolve."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["_folder"] = str(folder)
    return manifest


def load_recording(folder: str | Path, name: str = "recording") -> dict[str, Any]:
    folder = Path(folder)
    meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    meta["_video"] = str(folder / meta["video"])
    return meta


def select(manifest: dict[str, Any], *, template_id: str | None | type(...) = ..., variant: str | None = None,
           kind: str | None = None, foreign: bool | None = None) -> list[dict[str, Any]]:
    """Frames filtered by template id (None: foreign frames), variant, kind, or foreign-ness."""
    out = []
    for e in manifest["frames"]:
        if template_id is not ... and e["template_id"] != template_id:
            continue
        if variant is not None and e["variant"] != variant:
            continue
        if kind is not None and e["kind"] != kind:
            continue
        if foreign is not None and (e["template_id"] is None) != foreign:
            continue
        out.append(e)
    return out


def read_image(manifest: dict[str, Any], entry: dict[str, Any]) -> np.ndarray:
    """The frame as BGR uint8."""
    path = Path(manifest["_folder"]) / entry["path"]
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return img


def box_in_frame(entry: dict[str, Any], box: list[int] | tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A box in template reference pixels -> frame pixels (frame = reference * scale + offset)."""
    s = entry["scale"]
    ox, oy = entry["offset"]
    x, y, w, h = box
    return (round(x * s + ox), round(y * s + oy), max(1, round(w * s)), max(1, round(h * s)))
