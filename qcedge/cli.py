"""The `qcedge` command line: one console script, subcommands found in qcedge.commands."""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

import qcedge
import qcedge.commands
from qcedge import errors
from qcedge.errors import UsageError, one_line

__all__ = ["UsageError", "build_parser", "main", "one_line"]

log = logging.getLogger("qcedge")


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
        return errors.BAD_INPUT
    setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return errors.INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (`| head`): nothing more to say, and nobody to say it to
        _silence_stdout()
        return errors.OK
    except Exception as exc:
        return _report(args.command, exc)


def _report(command: str, exc: Exception) -> int:
    """One line on stderr for an exception that ended a command; its exit code (qcedge.errors)."""
    code = errors.exit_code(exc)
    if code == errors.INTERNAL:  # a bug: one line for the person, the trace in a private file
        where = _write_trace(command)
        tail = f"; the full trace is in {where}" if where else ""
        message = f"internal error ({type(exc).__name__}){tail}"
    else:
        log.debug("%s failed", command, exc_info=True)
        message = _message(exc)
    print(f"qcedge {command}: {one_line(message)}", file=sys.stderr)
    return code


def _message(exc: Exception) -> str:
    """What an error says to a person: its own text, or for an OSError the reason and the file."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _write_trace(command: str | None) -> str | None:
    """Append the current exception's trace to an owner-only file; its path, or None when it cannot be written.

    The trace goes to a file, not the terminal: an exception message may quote a value read from a screen.
    """
    import datetime
    import os
    import traceback
    from pathlib import Path

    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "qcedge"
    path = base / "errors.log"
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace") as fh:
            stamp = datetime.datetime.now().isoformat(timespec="seconds")
            fh.write(f"--- {stamp} qcedge {command}\n{traceback.format_exc()}\n")
        return str(path)
    except OSError:
        return None
