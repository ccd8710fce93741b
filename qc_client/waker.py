"""Waking the feed client's I/O thread from another thread while it waits in poll (a socket pair)."""
from __future__ import annotations

import socket


class Waker:
    """A socket pair the I/O thread polls. `signal()` costs nothing while the thread is not asleep:
    it looks at its flags before it sleeps (set `sleeping` around the poll)."""

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self.sleeping = False  # the I/O thread is (about to be) blocked in poll

    def fileno(self) -> int:
        """What to poll for reading."""
        return self._r.fileno()

    def signal(self) -> None:
        if not self.sleeping:
            return  # the I/O thread checks its flags before it sleeps
        try:
            self._w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # the pipe is full: the thread is being woken anyway

    def drain(self) -> None:
        """Read the wake-ups (after the poll said there are some)."""
        try:
            while self._r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        for s in (self._r, self._w):
            try:
                s.close()
            except OSError:
                pass
