"""A throwaway PostgreSQL 15 + PostGIS 3 cluster in a temporary folder, for the database tests
and benchmarks: ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/15/bin`` (``$PPAP_PG_BIN``),
listening on a free loopback port and a unix socket in the folder, trust authentication, torn
down (stopped and deleted) afterwards.

``initdb`` refuses to run as root; CI runs as root, so there the cluster belongs to the
``postgres`` system user (the Debian package makes it): the folder is given to that user and the
server programs run through ``runuser -u postgres --``. (Not pytest-postgresql: it runs
``pg_ctl`` as the current user, which PostgreSQL refuses as root, and has no option to run it as
another user — dbfixtures/pytest-postgresql issues #341 and #455.)
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.server import free_port

PG_BIN = Path(os.environ.get("PPAP_PG_BIN", "/usr/lib/postgresql/15/bin"))
#: Where the Debian package puts PostGIS's extension files for PostgreSQL 15.
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
SERVER_USER = "postgres"


def missing_prerequisites() -> str | None:
    """Why a cluster cannot be started here (``None`` when it can)."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / program).is_file():
            return f"no PostgreSQL 15 server at {PG_BIN} (scripts/install_system_deps.sh installs postgresql-15)"
    if not POSTGIS_CONTROL.is_file():
        return "no PostGIS for PostgreSQL 15 (scripts/install_system_deps.sh installs postgresql-15-postgis-3)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} user to run the server as"
    return None


@dataclass
class PostgresCluster:
    """A running throwaway cluster. :meth:`url` names a database on it (superuser ``postgres``)."""

    directory: Path
    port: int
    log: Path
    _databases: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "ppap") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._databases.append(name)
        return self.url(name)

    def stop(self) -> None:
        _run_as_server([str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "-w",
                        "stop"], check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_server(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def _run_as_server(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(_as_server(cmd), capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed ({done.returncode}): {done.stdout[-1500:]} {done.stderr[-1500:]}")
    return done


def start_cluster(*, port: int | None = None, settings: dict[str, str] | None = None) -> PostgresCluster:
    """initdb a new cluster in a temporary folder and start it; raise ``RuntimeError`` when it fails.

    Call :meth:`PostgresCluster.stop` when done (the test fixture does).
    """
    why = missing_prerequisites()
    if why:
        raise RuntimeError(why)
    directory = Path(tempfile.mkdtemp(prefix="ppap-pg-"))
    (directory / "socket").mkdir()
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        for path in (directory, directory / "socket"):
            os.chown(path, user.pw_uid, user.pw_gid)
    data = directory / "data"
    log = directory / "server.log"
    _run_as_server([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
    port = port or free_port()
    options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(directory / "socket"),
               "fsync": "off", "full_page_writes": "off", "max_connections": "60", **(settings or {})}
    opts = " ".join(f"-c {k}={v}" for k, v in options.items())
    cluster = PostgresCluster(directory, port, log)
    try:
        _run_as_server([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"])
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                with psycopg.connect(cluster.url(), connect_timeout=2):
                    break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    except BaseException:
        text = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
        cluster.stop()
        raise RuntimeError(f"PostgreSQL did not start: {text}") from None
    return cluster
