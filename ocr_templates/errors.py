"""Errors that name the file, the place in it and the problem."""
from __future__ import annotations


class TemplateError(ValueError):
    """A template file that cannot be used. `str()` is the message for a person."""

    def __init__(self, path: str, problem: str, where: str | None = None) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        place = f" ({where})" if where else ""
        super().__init__(f"{self.path}{place}: {problem}")
