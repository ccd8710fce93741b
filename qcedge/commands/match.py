"""`qcedge match`: which template each image shows, where, and with what score."""
from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("match", help="say which template each image shows",
                       description="Match each image against a folder of templates: the template, its "
                                   "offset and scale, and the score, or that none matches.")
    p.add_argument("--templates", "-T", required=True, metavar="DIR", help="folder of template files")
    p.add_argument("--json", action="store_true", help="print one JSON document per image (JSON lines)")
    p.add_argument("--engine", default="ppocr", choices=["ppocr", "tesseract", "none"],
                   help="OCR engine that reads anchors with a 'text' when the picture is not conclusive "
                        "(default ppocr; none: pictures only)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qcedge.images import read_image
    from qcedge.ocr_templates import EngineUnavailable, Matcher, get_engine, load_templates

    templates = load_templates(args.templates)
    engine = None
    if args.engine != "none" and any(a.text for t in templates for a in t.anchors):
        try:
            engine = get_engine(args.engine)
        except EngineUnavailable as exc:   # the error cannot know that pictures alone are an option
            raise EngineUnavailable(f"{exc} (--engine none matches on pictures only)") from None
    matcher = Matcher(templates, engine=engine)
    images = [(p, read_image(p)) for p in args.images]
    missed = 0
    for path, img in images:
        results = matcher.match_all(img)
        best = next((r for r in results if r.matched), None)
        if args.json:
            doc = {"image": path, "template": best.template_id if best else None,
                   "results": [{"template": r.template_id, "matched": r.matched, "score": r.score,
                                "scale": r.scale, "offset": list(r.offset), "anchors": r.anchor_scores, "hidden_anchors": r.hidden,
                                "ms": round(r.seconds * 1000, 1)} for r in results]}
            print(json.dumps(doc, ensure_ascii=False, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
        elif best:
            print(f"{path}: {best.template_id} (score {best.score:.3f}, scale {best.scale:.3f}, "
                  f"offset {best.offset[0]:.0f},{best.offset[1]:.0f}, {best.seconds * 1000:.0f} ms)")
        else:
            top = results[0] if results else None
            near = ""
            if top:
                low = min(top.anchor_scores.items(), key=lambda kv: kv[1]) if top.anchor_scores else None
                near = f" (best {top.template_id}, score {top.score:.3f}" + \
                    (f"; anchor '{low[0]}' {low[1]:.2f}" if low else "") + ")"
            print(f"{path}: no template matches{near}")
        missed += best is None
    return 1 if missed else 0
