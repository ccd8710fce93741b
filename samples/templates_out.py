"""Write the sample templates (YAML + reference PNG) from the screens' own layout code."""
from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import yaml

from qcedge.ocr_templates import load_template, parse_template
from samples.screens.base import Screen
from samples.screens.catalogue import screens as all_screens

REFERENCE_SEED = "reference"


class _Dumper(yaml.SafeDumper):
    pass


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, (int, float, str)) for v in data) and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


def template_yaml(data: dict[str, Any]) -> str:
    head = f"# {data['title']}\n# Written by `python -m samples.generate --write-templates` from samples/screens; edit the code, not this file.\n"
    return head + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def reference_image(screen: Screen):
    """The clean window at scale 1 in the program's usual font: the template's reference."""
    inst = screen.make(random.Random(f"{REFERENCE_SEED}:{screen.kind}"), 0)
    inst.look = screen.reference_look()
    inst.extra.pop("selected_row", None)  # nothing selected on the reference
    img, _ = screen.render(inst, 1.0)
    return img


def write_templates(folder: Path, screens: list[Screen] | None = None) -> list[Path]:
    """Write each taught screen's template (YAML + reference PNG) into `folder`; the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for screen in screens or all_screens():
        data = screen.template()
        if data is None:
            continue
        parse_template(data, f"{screen.template_id}.yaml")  # validate before writing
        png = folder / data["reference"]["image"]
        reference_image(screen).save(png, "PNG", optimize=True)
        path = folder / f"{screen.template_id}.yaml"
        path.write_text(template_yaml(data), encoding="utf-8")
        load_template(path)
        written += [path, png]
    return written


def write_tight_templates(folder: Path, screens: list[Screen] | None = None, margin: int = 3) -> list[Path]:
    """The sample templates with every value box drawn tight around the reference's own value (its ink plus
    `margin` px), as a hurried integrator or a proposal boxing one value's ink would draw it. Other screens'
    longer values then run past their boxes: the benchmark's "tight" variant reads the clean frames with these.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for screen in screens or all_screens():
        data = copy.deepcopy(screen.template())   # the screen's own template data stays as it is
        if data is None:
            continue
        inst = screen.make(random.Random(f"{REFERENCE_SEED}:{screen.kind}"), 0)
        inst.look = screen.reference_look()
        inst.extra.pop("selected_row", None)
        img, canvas = screen.render(inst, 1.0)
        for f in data["fields"]:
            if f.get("kind") == "table" or f["name"] not in canvas.placed:
                continue
            _, (x0, y0, x1, y1) = canvas.placed[f["name"]]
            bx, by, bw, bh = f["box"]
            # tight in width (where longer values go); the height stays the slot's
            f["box"] = [max(0, x0 - margin), by, min(x1 + margin, bx + bw) - max(0, x0 - margin), bh]
        parse_template(data, f"{screen.template_id}.yaml")
        png = folder / data["reference"]["image"]
        img.save(png, "PNG", compress_level=1)
        path = folder / f"{screen.template_id}.yaml"
        path.write_text(template_yaml(data), encoding="utf-8")
        written += [path, png]
    return written
