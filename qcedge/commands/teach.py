"""`qcedge teach`: the teaching GUI for templates and flows."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "teach", help="teach templates and record flows in a GUI",
        description="Open a frame source (still, folder, video, DICOM, 'screen', device, stream URL), a template "
                    "(.yaml) or a template pack folder, and teach or test templates and flows.")
    p.add_argument("source", nargs="?", metavar="FILE_OR_SOURCE",
                   help="image, folder, video, DICOM file, template .yaml, pack folder, or a live source spec")
    p.add_argument("--template", "-t", help="template to edit (its reference image is shown unless a source is given)")
    p.add_argument("--lang", choices=["en", "zh_CN"], help="interface language (default: saved choice or system)")
    p.add_argument("--engine", default="ppocr", help="OCR engine for live reading and proposals (ppocr, tesseract)")
    p.add_argument("--no-live-ocr", action="store_true", help="do not read fields while editing")
    p.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window once loaded, then exit")
    p.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from qcedge.errors import UsageError

    if args.source and not (Path(args.source).exists() or "://" in args.source or ":" in args.source
                            or args.source.startswith(("screen", "device", "window"))):
        raise UsageError(f"{args.source}: no such file or folder, and not a live source spec")
    if args.template and not Path(args.template).is_file():
        raise UsageError(f"{args.template}: no such template file")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
            or args.screenshot):
        raise UsageError("no display: set DISPLAY (or QT_QPA_PLATFORM=offscreen for a headless screenshot)")
    from qcedge.teaching_mode.app import run

    return run(args.source, template=args.template, language=args.lang, engine=args.engine,
               screenshot=args.screenshot, live_ocr=not args.no_live_ocr)
