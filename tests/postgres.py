"""A throwaway PostgreSQL server for tests and benchmarks (initdb into a temp dir, 127.0.0.1).

The tests own it (tests/conftest.py imports it); bench/store_insert.py borrows it by putting
tests/ on its path. Not production code.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin that has initdb, or $PG_BINDIR."""
    env = os.environ.get("PG_BINDIR")
    candidates = [env] if env else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists():
            return Path(c)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TempPostgres:
    """One cluster in a temp dir; start()/stop() may be called repeatedly (outage tests)."""

    bindir: Path
    root: Path
    port: int
    fsync: bool = False
    host: str = "127.0.0.1"
    user: str = "postgres"

    @classmethod
    def create(cls, fsync: bool = False) -> TempPostgres:
        bindir = find_bindir()
        root = Path(tempfile.mkdtemp(prefix="depeg-pg-"))
        pg = cls(bindir=bindir, root=root, port=_free_port(), fsync=fsync)
        if os.geteuid() == 0:
            # initdb refuses to run as root: hand the directory to the postgres OS user.
            shutil.chown(root, user="postgres", group="postgres")
        pg._run(
            "initdb",
            "-D",
            str(pg.datadir),
            "-U",
            pg.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        return pg

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        opts = f"-h {self.host} -p {self.port} -k {self.root} -c max_connections=200"
        if not self.fsync:
            opts += " -F -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.datadir),
            "-o",
            opts,
            "-l",
            str(self.root / "server.log"),
        )

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.datadir))

    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{database}"

    def libpq_dsn(self, database: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.libpq_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def add_password_user(self, name: str, password: str) -> str:
        """A role that must log in with a password over TCP; returns its URL (no database)."""
        import psycopg

        with psycopg.connect(self.libpq_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")
        hba = self.datadir / "pg_hba.conf"
        rule = f"host all {name} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if rule not in text:
            hba.write_text(rule + text)  # first match wins: before the trust lines
        self._run("pg_ctl", "reload", "-D", str(self.datadir))
        return f"postgresql+psycopg://{name}:{password}@{self.host}:{self.port}"

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.libpq_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
