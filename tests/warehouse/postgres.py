"""A throwaway PostgreSQL on loopback, in a temporary folder, for the DuckLake tests.

Started the way a person would by hand: ``initdb -A trust``, then ``pg_ctl start`` on a
free port, listening on 127.0.0.1 only, with its socket in the same folder. PostgreSQL
refuses to run as root: as root, the server runs as the ``postgres`` user (Debian's
package creates it) or ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "surveyhouse"


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl/postgres: on PATH, else Debian's /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    candidates = ([Path(on_path).resolve()] if on_path else []) + [
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    ]
    for initdb in candidates:
        if (initdb.parent / "pg_ctl").exists() and (initdb.parent / "postgres").exists():
            return initdb.parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_user() -> str | None:
    """Who runs the server: None (this user) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@dataclass
class Postgres:
    bin: Path
    folder: Path
    port: int
    user: str | None

    def _as_server_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def start(self) -> None:
        data = self.folder / "data"
        subprocess.run(
            self._as_server_user([str(self.bin / "initdb"), "-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync", "-D", str(data)]),
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            self._as_server_user([str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"), "-w", "-t", "60", "-o", options, "start"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            self._as_server_user([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]),
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def conninfo(self, dbname: str) -> str:
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user={USER}"

    def _client(self, name: str) -> list[str]:
        program = self.bin / name
        return [str(program) if program.exists() else name, "-h", "127.0.0.1", "-p", str(self.port), "-U", USER]

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (which nobody may be connected to); its libpq conninfo."""
        subprocess.run(
            [*self._client("createdb"), *(["-T", template] if template else []), name], check=True, capture_output=True
        )
        return self.conninfo(name)

    def execute(self, dbname: str, sql: str) -> str:
        """Run SQL with psql; its output (unaligned, tuples only)."""
        result = subprocess.run([*self._client("psql"), "-d", dbname, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                check=True, capture_output=True, text=True)  # fmt: skip
        return result.stdout.strip()

    def sqlalchemy_url(self, dbname: str) -> str:
        """The database as Prefect's server wants it (PREFECT_API_DATABASE_CONNECTION_URL)."""
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{dbname}"


def start_postgres() -> Postgres:
    found = postgres_bin()
    if found is None:
        raise FileNotFoundError("no PostgreSQL server binaries (initdb, pg_ctl, postgres)")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="surveyhouse-pg-"))
    if user:
        shutil.chown(folder, user=user)
    server = Postgres(found, folder, _free_port(), user)
    try:
        server.start()
    except subprocess.CalledProcessError as error:
        log = folder / "log"
        detail = (error.stderr or b"").decode(errors="replace") + (
            log.read_text(errors="replace") if log.exists() else ""
        )
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {detail}") from error
    return server
