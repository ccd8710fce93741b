"""A throwaway local PostgreSQL cluster (Debian's initdb/pg_ctl) for tests, benchmarks and trying central.

    with LocalPostgres.start() as pg:
        url = pg.create_database("central")   # postgresql://qcedge@/central?host=...&port=...

The cluster lives in a temporary folder and listens only on a unix socket there; it is
removed on stop(). As root the server runs as the `postgres` user (PostgreSQL refuses root).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import psycopg

from qcedge.central.errors import CentralError


class PostgresMissing(CentralError, RuntimeError):
    """No PostgreSQL server binaries on this machine (Debian: apt-get install postgresql)."""


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin with initdb and pg_ctl (or the folder of initdb on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresMissing("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: "
                          "install Debian's postgresql package (scripts/setup.sh does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """See module docstring. `durable=False` turns fsync off (tests: safe against a crash of the server,
    not of the machine); benchmarks keep it on. synchronous_commit stays on: a commit is in the WAL."""

    def __init__(self, *, durable: bool = True, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="qcedge-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "qcedge"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o755)

    @classmethod
    def start(cls, **kw) -> "LocalPostgres":
        pg = cls(**kw)
        try:
            pg._initdb()
            pg.run()
        except BaseException:
            pg.stop()
            raise
        return pg

    def _pg(self, tool: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as, str(self.bindir / tool), *args], capture_output=True, text=True,
                              check=check, timeout=timeout, cwd=self.root)

    def _initdb(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--locale=C",
                 "--no-instructions", "--no-sync")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nlisten_addresses = ''\nunix_socket_directories = '{self.root}'\nport = {self.port}\n"
                       "max_connections = 50\nshared_buffers = 128MB\n")
            if not self.durable:
                # a crash of PostgreSQL (pg_ctl stop -m immediate) loses nothing committed; a power cut would
                conf.write("fsync = off\nfull_page_writes = off\n")

    def run(self) -> None:
        """Start the server (again) and wait until it takes connections."""
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def restart(self, mode: str = "immediate") -> None:
        """Stop (immediate: as a crash, every connection cut) and start again."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        self.run()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{dbname}?host={quote(str(self.root), safe='')}&port={self.port}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
