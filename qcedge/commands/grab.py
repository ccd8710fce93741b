"""`qcedge grab`: read frames from any source spec, say what capture sees, optionally save them."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qcedge.errors import OperationFailed, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grab", help="read frames from a source (screen, device, stream, file, folder, DICOM)",
                       description="Open a frame source by its spec (screen:1@0,0,800,600, device:0?fourcc=MJPG, "
                                   "udp://..., file:x.mp4, folder:dir, dicom:x.dcm; see docs/capture.md), read "
                                   "frames and print, per frame, its size and whether it changed, settled or "
                                   "shows no signal. Saves PNGs with --out (frames to teach or test templates on).")
    p.add_argument("source", metavar="SPEC", help="source spec")
    p.add_argument("-n", "--frames", type=int, default=1, help="frames to read (default 1; 0 = until the end or Ctrl-C)")
    p.add_argument("--every", type=float, default=0.0, metavar="S", help="seconds between reads (default: as fast as it comes)")
    p.add_argument("-o", "--out", metavar="DIR", help="save each frame as DIR/<index>.png")
    p.add_argument("--changed-only", action="store_true", help="save only frames that settled after a change")
    p.add_argument("--json", action="store_true", help="one JSON document per frame")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from qcedge.capture import NoSignalDetector, SettleDetector, SourceError, SourceSpecError, open_source

    if args.frames < 0 or args.every < 0:
        raise UsageError("--frames and --every must not be negative")
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    try:
        source = open_source(args.source)
    except SourceSpecError:
        raise  # says what is wrong with the spec: exit 2
    except SourceError as exc:
        raise SourceError(f"cannot open {args.source}: {exc}") from None
    settle, signal = SettleDetector(), NoSignalDetector()
    count = 0
    try:
        with source:
            while args.frames == 0 or count < args.frames:
                try:
                    frame = source.read()
                except SourceError as exc:
                    raise SourceError(f"{args.source} failed after {count} frame(s): {exc}") from None
                if frame is None:
                    break
                count += 1
                update, check = settle.update(frame), signal.update(frame)
                saved = None
                if out and (not args.changed_only or update.settled):
                    saved = out / f"{frame.index:06d}.png"
                    cv2.imwrite(str(saved), frame.image)
                doc = {"index": frame.index, "source": frame.source_id, "origin": frame.origin,
                       "width": frame.size[0], "height": frame.size[1], "changed": update.changed,
                       "change_score": round(update.change.score, 2), "settled": update.settled,
                       "no_signal": check.kind if check.no_signal else None, "saved": str(saved) if saved else None}
                if args.json:
                    print(json.dumps(doc), flush=True)
                else:
                    flags = [w for w, on in (("changed", update.changed), ("settled", update.settled)) if on]
                    if check.no_signal:
                        flags.append(f"no signal ({check.kind})")
                    where = f" {frame.origin}" if frame.origin else ""
                    print(f"#{frame.index}{where} {frame.size[0]}x{frame.size[1]} {' '.join(flags) or 'unchanged'}"
                          + (f" -> {saved}" if saved else ""), flush=True)
                if args.every:
                    time.sleep(args.every)
    except KeyboardInterrupt:
        pass
    if count == 0:
        raise OperationFailed(f"{args.source} gave no frame")
    return 0
