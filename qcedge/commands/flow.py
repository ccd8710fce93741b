"""`qcedge flow check|run`: validate and replay RPA flows (rpa_flows)."""
from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from pathlib import Path

from qcedge.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("flow", help="check and run RPA flows (data entry into legacy programs)",
                              description="Check and run RPA flows. See docs/flows.md.")
    sub = p.add_subparsers(dest="flow_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    c = sub.add_parser("check", help="validate a flow file and list its steps")
    c.add_argument("flow", type=Path, help="flow YAML file")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser("run", help="run a flow on this X display (or draw it, with --dry-run)")
    r.add_argument("flow", type=Path, help="flow YAML file")
    r.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="a variable (repeatable; visible in `ps`: use --var-file or --var-env for secrets)")
    r.add_argument("--var-file", type=Path, action="append", default=[], metavar="FILE",
                   help="NAME=VALUE lines from a file only its owner may read (chmod 600): for passwords")
    r.add_argument("--var-env", action="append", default=[], metavar="NAME[=ENVVAR]",
                   help="a variable from an environment variable (repeatable)")
    r.add_argument("--resume", type=Path, metavar="LOG",
                   help="skip the records an earlier run saved (its run folder or run.jsonl)")
    r.add_argument("--records", type=Path, help="records for for_each: a JSON list or JSON lines file")
    r.add_argument("--dry-run", action="store_true",
                   help="send no input; draw where each step would click on a screenshot (dry-run.png)")
    r.add_argument("--screen-image", type=Path, help="with --dry-run: use this PNG instead of the live screen")
    r.add_argument("--log", type=Path, default=Path("flow-logs"),
                   help="folder for run logs; each run gets a subfolder with run.jsonl and screenshots "
                        "(default: ./flow-logs)")
    r.set_defaults(func=cmd_run)


def cmd_check(args: argparse.Namespace) -> int:
    from qcedge.rpa_flows import load_flow, unguarded_input_steps, walk
    from qcedge.rpa_flows.loader import targets_of
    from qcedge.rpa_flows.model import action_of

    flow = load_flow(args.flow)  # a FlowError (bad input: exit 2) names the file and the step
    steps = list(walk(flow.steps))
    print(f"{args.flow}: flow '{flow.id}' v{flow.version} OK: {len(steps)} steps, screens: "
          f"{', '.join(flow.screens) or 'none'}")
    for label, step, depth in steps:
        short = label.rsplit(" > ", 1)[-1]
        action = action_of(step)
        what = ", ".join(f"{k} {t.describe()}" for k, t in targets_of(step))
        print(f"  {'  ' * depth}{short}: {action}{' - ' + what if what else ''}")
    for i, handler in enumerate(flow.on_screen):
        print(f"  on_screen '{handler.label(i)}': when {handler.screen.describe()} shows, {len(handler.steps)} step(s)")
    unguarded = unguarded_input_steps(flow)
    for label in unguarded:
        print(f"warning: {label}: input step with no expected screen before it (add 'expect:')")
    if unguarded and flow.settings.require_expect:
        print("warning: these steps will stop the flow at run time (settings.require_expect is on)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from qcedge.rpa_flows import load_flow
    from qcedge.rpa_flows.variables import done_records, load_records, load_var_file, parse_var_args, vars_from_env

    # bad input (a FlowError, a RunInputError naming the file or argument) ends the command with exit 2
    flow = load_flow(args.flow)
    variables: dict = {}
    for f in args.var_file:
        variables.update(load_var_file(f))
    variables.update(vars_from_env(args.var_env))
    variables.update(parse_var_args(args.var))
    records = load_records(args.records) if args.records else None
    resume_done = done_records(args.resume) if args.resume else None
    if args.screen_image and not args.dry_run:
        raise UsageError("--screen-image is for --dry-run only (a live run looks at the live screen)")
    if not args.screen_image and not os.environ.get("DISPLAY"):
        raise UsageError("no X display: DISPLAY is not set (for a dry run on a saved screenshot use "
                         "--dry-run --screen-image FILE)")

    from qcedge.rpa_flows.player import Player
    from qcedge.rpa_flows.screen import StillScreen

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_dir = args.log / f"{flow.id}-{stamp}{'-dry' if args.dry_run else ''}"
    n = 2
    while log_dir.exists():
        log_dir = args.log / f"{flow.id}-{stamp}-{n}{'-dry' if args.dry_run else ''}"
        n += 1
    screen = StillScreen(args.screen_image) if args.screen_image else None
    player = Player(flow, screen=screen, log_dir=log_dir, dry_run=args.dry_run, resume_done=resume_done)
    try:
        result = player.run(variables=variables, records=records)
    finally:
        player.close()
    mode = "dry run" if args.dry_run else "run"
    if records is not None:
        skipped = sum(e["event"] == "record_skipped" for e in result.events)
        print(f"records: {result.records_done} done in this run" + (f", {skipped} skipped (saved by the run in "
                                                                     f"{args.resume})" if args.resume else ""))
    if result.ok:
        print(f"flow '{flow.id}' {mode} OK: {result.steps_run} steps in {result.seconds:.1f} s"
              f"{f', paused {result.pauses} time(s) for the person at the workstation' if result.pauses else ''}")
    else:
        print(f"flow '{flow.id}' {mode} FAILED at {result.failed_step}: {result.message}")
        if result.screenshot:
            print(f"  screenshot: {result.screenshot}")
    if result.drawing:
        print(f"  drawing: {result.drawing}")
    print(f"  log: {result.log_path}")
    return 0 if result.ok else 1
