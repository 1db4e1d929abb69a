"""pytest plugin: a throwaway PostgreSQL cluster for the ledger's tests.

`postgres_url` (session): the SQLAlchemy URL of a server on 127.0.0.1, from
PUBLISHER_TEST_POSTGRES_URL if set, else a cluster this plugin starts with Debian's initdb and
pg_ctl (as user `postgres` via runuser when we are root), data and socket in a temporary folder.
`postgres_db`: a fresh, empty database per test, dropped afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

ENV_URL = "PUBLISHER_TEST_POSTGRES_URL"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; the cluster belongs to the `postgres` user then.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _start_cluster(bindir: Path, folder: Path) -> tuple[str, Path]:
    data, sockets = folder / "data", folder / "sockets"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        for path in (data, sockets):
            shutil.chown(path, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    run = lambda *args: subprocess.run(_as_postgres([str(a) for a in args]), check=True,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    run(bindir / "initdb", "-D", data, "-U", user, "-A", "trust", "--no-sync", "-E", "UTF8")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
    run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "-t", "60", "start")
    return f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres", data


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server's URL (its `postgres` database); the cluster is stopped afterwards."""
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    bindir = _bin_dir()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (install Debian's postgresql package)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as user postgres")
    folder = Path(tempfile.mkdtemp(prefix="publisher-pg-"))
    try:
        url, data = _start_cluster(bindir, folder)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {(error.stderr or '').strip()[:300]}")
    except (LookupError, OSError) as error:  # no `postgres` user, or a folder it cannot use
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not prepare a PostgreSQL cluster: {error}")
    try:
        yield url
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
