"""Fixtures for the feed tests (helpers live in feedtools.py)."""
from feedtools import cli, receiver_factory  # noqa: F401  (fixtures)
