"""The `qcedge` command line: one console script, subcommands found in qcedge.commands."""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import qcedge
import qcedge.commands

log = logging.getLogger("qcedge")


class UsageError(Exception):
    """Bad input from the command line or a file: shown as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qcedge", description="Workstation-side kit for acquisition QC.")
    parser.add_argument("--version", action="version", version=f"qcedge {qcedge.__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(qcedge.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"qcedge.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("RapidOCR", "PIL", "pynetdicom", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"qcedge {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
