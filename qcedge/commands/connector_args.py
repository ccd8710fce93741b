"""Command-line pieces shared by the connector commands (`qcedge dicom`, `qcedge http`)."""
from __future__ import annotations

import argparse
from typing import Any


def action_group(sub: argparse._SubParsersAction, name: str, *, help: str, description: str) -> Any:
    """The parser of a command made of actions (`qcedge NAME ACTION ...`); its subparsers.
    Without an action, the command prints its help and exits with 2."""
    parser = sub.add_parser(name, help=help, description=description)

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=show_help)
    return parser.add_subparsers(dest=f"{name}_command", metavar="ACTION")


def add_options(parser: argparse.ArgumentParser, options: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    """Add options given as a table of (flag, add_argument keywords)."""
    for flag, kwargs in options:
        parser.add_argument(flag, **kwargs)
