"""`qcedge ocr`: read a template's fields from still images."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from qcedge.json_values import jsonable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ocr", help="read a template's fields from images",
                       description="Match the template on each image and print every field's value, "
                                   "confidence and validity.")
    p.add_argument("--template", "-t", required=True, metavar="T.yaml", help="the template file")
    p.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract"], help="OCR engine (default ppocr)")
    p.add_argument("--json", action="store_true", help="print one JSON document per image (JSON lines)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=run)


def field_json(f) -> dict:
    out = {"value": jsonable(f.value), "text": f.text, "confidence": f.confidence, "valid": f.valid,
           "reasons": f.reasons, "box": list(f.box) if f.box else None}
    if f.hidden:
        out["hidden"] = f.hidden
    if f.personal:
        out["personal"] = True
    if f.rows is not None:
        out["rows"] = [{k: field_json(c) for k, c in row.items()} for row in f.rows]
    return out


def reading_json(path: str, reading) -> dict:
    m = reading.match
    return {"image": path, "template": reading.template_id, "version": reading.template_version,
            "match": {"matched": m.matched, "score": m.score, "scale": m.scale, "offset": list(m.offset),
                      "anchors": m.anchor_scores, "hidden_anchors": m.hidden},
            "status": reading.status, "seconds": round(reading.seconds, 4),
            "fields": {k: field_json(f) for k, f in reading.fields.items()},
            "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in reading.checks]}


def _show(v: Any) -> str:
    if v is None:
        return "-"
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def print_reading(path: str, reading, out=None) -> None:
    out = out or sys.stdout  # looked up per call: a default bound at import outlives a replaced stdout
    m = reading.match
    state = "matched" if m.matched else "NOT matched"
    print(f"{path}: {reading.template_id} {state} (score {m.score:.3f}, scale {m.scale:.3f}, "
          f"offset {m.offset[0]:.0f},{m.offset[1]:.0f}) -> {reading.status}, {reading.seconds * 1000:.0f} ms", file=out)
    width = max([len(n) for n in reading.fields] + [5])
    for name, f in reading.fields.items():
        if f.rows is not None:
            print(f"  {name:<{width}}  table, {len(f.rows)} row(s)  {'ok' if f.valid else 'REVIEW'}", file=out)
            for i, row in enumerate(f.rows):
                cells = "  ".join(f"{k}={_show(c.value)}{'' if c.valid else '(!)'}" for k, c in row.items())
                print(f"  {'':<{width}}  {i + 1:>2}: {cells}", file=out)
            for r in f.reasons:
                print(f"  {'':<{width}}      ! {r}", file=out)
            continue
        flag = "ok" if f.valid else "REVIEW"
        print(f"  {name:<{width}}  {_show(f.value):<24} conf {f.confidence:.2f}  {flag}", file=out)
        for r in f.reasons:
            print(f"  {'':<{width}}      ! {r}", file=out)
    for c in reading.checks:
        print(f"  check {c.name}: {'ok' if c.ok else 'FAILED'}  {c.message}", file=out)


def run(args: argparse.Namespace) -> int:
    from qcedge.images import read_image
    from qcedge.ocr_templates import Matcher, get_engine, load_template, read_screen

    template = load_template(args.template)
    images = [(p, read_image(p)) for p in args.images]
    engine = get_engine(args.engine)
    matcher = Matcher([template], engine=engine)
    worst = 0
    for path, img in images:
        m = matcher.match(img, template.id)
        reading = read_screen(img, template, m, engine)
        reading.seconds += m.seconds
        if args.json:
            print(json.dumps(reading_json(path, reading), ensure_ascii=False, default=jsonable))
        else:
            print_reading(path, reading)
        if not m.matched:
            worst = max(worst, 1)
    return worst
