"""A throw-away PostgreSQL server for tests: Debian's binaries, ``initdb`` + ``pg_ctl`` in a temporary
directory, 127.0.0.1 and a free port only, password authentication, stopped and deleted afterwards.

PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` system user that
Debian's package creates (``make test`` installs the package, like Chromium for the browser test).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .stack import free_port

INSTALL_HINT = (
    "`make test` installs them (target postgres-deps: apt-get install postgresql from Debian); "
    "run `make postgres-deps` once, or `make test`"
)


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl (or initdb on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}.", pytrace=False)


def _run_as() -> tuple[pwd.struct_passwd | None, object]:
    if os.geteuid() != 0:
        return None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(f"running as root, but there is no `postgres` system user to run the server as; {INSTALL_HINT}.",
                    pytrace=False)

    def demote():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return user, demote


class LocalPostgres:
    """``with LocalPostgres() as pg: pg.env`` → DAGSTER_POSTGRES_* settings for a fresh ``dagster`` database."""

    user = "dagster"
    database = "dagster"

    def __init__(self):
        self.bindir = find_bindir()
        self.password = secrets.token_urlsafe(18)
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="spotify-assets-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self._owner, self._demote = _run_as()

    @property
    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_DB": self.database,
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
        }

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.bindir / args[0]), *args[1:]], cwd=self.base, preexec_fn=self._demote,
                              capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> LocalPostgres:
        if self._owner is not None:
            os.chown(self.base, self._owner.pw_uid, self._owner.pw_gid)
        pwfile = self.base / "pw"
        pwfile.write_text(self.password)
        if self._owner is not None:
            os.chown(pwfile, self._owner.pw_uid, self._owner.pw_gid)
        try:
            self._cmd("initdb", "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                      "-E", "UTF8", "--no-instructions")
        except subprocess.CalledProcessError as error:
            raise AssertionError(f"initdb failed:\n{error.stdout}\n{error.stderr}") from None
        finally:
            pwfile.unlink()
        # Loopback TCP only; the socket in our own directory; durability off (a test database).
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        started = self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                            "start", check=False)
        if started.returncode != 0:
            raise AssertionError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{self.log_tail()}")
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {self.database}")
        finally:
            conn.close()
        return self

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=self.database)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop", check=False)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
