"""Generate the simulated legacy screens with ground truth: `python -m samples.generate`.

Writes frames (PNG, JPEG for the HDMI variant) and manifest.json into samples/generated/
(see docs/samples.md for the manifest format). Deterministic: the same seed and count give
the same bytes. `--write-templates` writes the sample templates (YAML + reference PNG) into
samples/templates/ from the same layout code. `--recording` also makes the sample recording.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from samples.screens.base import VARIANTS, Instance, Screen
from samples.screens.catalogue import foreign_screens, screens
from samples.variants import DISTURBANCES, FRAME_H, FRAME_W, Shot, compose

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "generated"
TEMPLATES = HERE / "templates"
SEED = 20251128
SCHEMA = "qcedge.samples/1"


__all__ = ["TEMPLATES", "SEED", "foreign_screens", "generate", "instance", "screens"]


def instance(screen: Screen, seed: int, index: int) -> Instance:
    return screen.make(random.Random(f"{seed}:{screen.kind}:{index}"), index)


def frame_entry(screen: Screen, inst: Instance, variant: str, shot: Shot, path: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": path,
        "kind": screen.kind,
        "template_id": screen.template_id,
        "variant": variant,
        "instance": inst.index,
        "size": list(shot.image.size),
        "window": list(shot.window) if shot.window else None,
        "scale": shot.scale,
        "font": {"family": inst.look.family, "size": inst.look.size, "smooth": inst.look.smooth},
        "category": screen.category,
        # truth only for taught screens: a foreign screen has nothing a template should read
        "fields": dict(inst.fields) if screen.template_id else {},
        "tables": {k: [dict(r) for r in rows] for k, rows in inst.tables.items()} if screen.template_id else {},
    }
    if screen.template_id:
        entry["identity"] = {k: inst.fields[k] for k in (screen.template() or {}).get("identity", [])}
    if shot.offset is not None:
        entry["offset"] = [round(shot.offset[0], 3), round(shot.offset[1], 3)]
    info = dict(shot.info)
    disturbance = info.pop("disturbance", None)
    if disturbance is not None:
        entry["disturbance"] = disturbance
        entry["covered"] = disturbance.get("covered", [])
    if info:
        entry["capture"] = info
    if shot.pointer:
        entry["pointer"] = list(shot.pointer)
    return entry


def generate(out: Path = DEFAULT_OUT, count: int = 10, seed: int = SEED, quiet: bool = False,
             variants: tuple[str, ...] = VARIANTS + DISTURBANCES, foreign_count: int | None = None) -> dict[str, Any]:
    """Render `count` instances of every screen kind in every variant, plus foreign screens."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    frames: list[dict[str, Any]] = []

    def log(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    def write(screen: Screen, inst: Instance, variant: str) -> None:
        rng = random.Random(f"{seed}:{screen.kind}:{inst.index}:{variant}")
        shot = compose(screen, inst, variant, rng)
        rel = f"frames/{screen.kind}/{screen.kind}_{inst.index:03d}_{variant}.{shot.ext}"
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(shot.encode())
        frames.append(frame_entry(screen, inst, variant, shot, rel))

    for screen in screens():
        for i in range(count):
            inst = instance(screen, seed, i)
            for variant in variants:
                write(screen, inst, variant)
        log(f"{screen.kind}: {count} instances x {len(variants)} variants ({time.monotonic() - started:.1f} s)")
    n_foreign = foreign_count if foreign_count is not None else max(2, count // 4)
    for screen in foreign_screens():
        for i in range(n_foreign):
            inst = instance(screen, seed, i)
            for variant in screen.variants:
                write(screen, inst, variant)
        log(f"{screen.kind}: {n_foreign} foreign instances ({time.monotonic() - started:.1f} s)")
    manifest = {
        "schema": SCHEMA,
        "seed": seed,
        "count": count,
        "frame_size": [FRAME_W, FRAME_H],
        "templates": {s.template_id: f"samples/templates/{s.template_id}.yaml" for s in screens() if s.template_id},
        "frames": frames,
    }
    from samples.templates_out import write_tight_templates

    tight = write_tight_templates(out / "templates_tight")
    manifest["tight_templates"] = {p.stem: str(p.relative_to(out)) for p in tight if p.suffix == ".yaml"}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {len(frames)} frames and manifest.json to {out} in {time.monotonic() - started:.1f} s")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m samples.generate", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default samples/generated)")
    ap.add_argument("--count", type=int, default=10, help="instances per screen kind (default 10)")
    ap.add_argument("--foreign-count", type=int, default=None, help="instances per foreign screen (default count/4, at least 2)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    ap.add_argument("--write-templates", nargs="?", const=TEMPLATES, type=Path, metavar="DIR",
                    help="write the sample templates (YAML + reference PNG) and exit (default samples/templates)")
    ap.add_argument("--no-recording", action="store_true", help="skip the sample recording")
    ap.add_argument("--recording-only", action="store_true", help="only make the sample recording")
    args = ap.parse_args(argv)
    if args.count < 1 or (args.foreign_count is not None and args.foreign_count < 0):
        print("generate: --count must be at least 1 and --foreign-count at least 0", file=sys.stderr)
        return 2
    if args.write_templates:
        from samples.templates_out import write_templates

        for path in write_templates(args.write_templates):
            if not args.quiet:
                print(f"wrote {path}")
        return 0
    if not args.recording_only:
        generate(args.out, args.count, args.seed, args.quiet, foreign_count=args.foreign_count)
    if not args.no_recording:
        from samples.recording import make_recording

        make_recording(args.out, seed=args.seed, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
