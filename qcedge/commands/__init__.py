"""Subcommands of `qcedge`: each module defines `register(subparsers)`.

A module's `register` adds its parser and sets `func` (args -> exit code).
"""
