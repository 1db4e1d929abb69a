"""Opens the ledger: an SQLAlchemy engine on SQLite (default) or PostgreSQL, migrated to head."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, event, exc, make_url

from publisher.delivery.settings import SubscribersSettings
from publisher.errors import LedgerError, Problem

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SETTING = "[subscribers] database"


def resolve_url(root: Path, database: str) -> URL:
    """The URL with a relative SQLite path made relative to the workspace root.

    SQLite URI filenames (`sqlite:///file:private/x.db?mode=ro&uri=true`) are resolved too.
    """
    url = make_url(database)
    name = url.database or ""
    if url.get_backend_name() == "sqlite" and name not in ("", ":memory:"):
        prefix, path = ("file:", name[5:]) if name.startswith("file:") else ("", name)
        if not Path(path).is_absolute():
            url = url.set(database=prefix + str((root / path).resolve()))
    return url


def sqlite_file(url: URL) -> Path | None:
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:"):
        return None
    return Path(name[5:] if name.startswith("file:") else name)


def open_ledger(root: Path, settings: SubscribersSettings) -> Engine:
    """The ledger's engine; creates the SQLite folder and file and runs Alembic `upgrade head`."""
    url = resolve_url(root, settings.database)
    if (path := sqlite_file(url)) is not None:
        _private_folder(path.parent, url)
    try:
        engine = make_engine(url)
    except ImportError as error:
        raise LedgerError(_problem(url, f"the database driver is not installed ({error.name})",
                                   'install it with: pip install "publisher[postgresql]"')) from error
    with guarded(engine):
        upgrade(engine)
    return engine


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() != "sqlite":
        # pre-ping: a PostgreSQL restarted under a running `serve` costs one retry, not an error
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    engine = create_engine(url, connect_args={"timeout": 5})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `serve` read while an import writes; NORMAL is durable across process crashes.
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.execute("PRAGMA foreign_keys = ON")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _private_folder(folder: Path, url: URL) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A second guard besides the workspace's .gitignore: nothing in here is ever committed.
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# personal data: never commit\n*\n")
    except OSError as error:
        raise LedgerError(_problem(url, f"cannot create the folder {folder}: {error.strerror}",
                                   "check the folder's permissions")) from error


def alembic_config(connection: Any) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Run the migrations the database lacks (none, usually: then it costs one query)."""
    with engine.begin() as connection:
        config = alembic_config(connection)
        heads = set(ScriptDirectory.from_config(config).get_heads())
        if set(MigrationContext.configure(connection).get_current_heads()) != heads:
            command.upgrade(config, "head")


def describe(url: URL) -> str:
    if (path := sqlite_file(url)) is not None:
        return str(path)
    return url.render_as_string(hide_password=True)


def _problem(url: URL, message: str, hint: str) -> Problem:
    return Problem(file=describe(url), field=SETTING, message=message, hint=hint)


def explain(error: exc.DBAPIError | exc.SQLAlchemyError, url: URL) -> Problem:
    """What went wrong with the database, in words, and how to fix it."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
    low = text.lower()
    if "locked" in low or "could not obtain lock" in low:
        return _problem(url, "the database is locked by another process",
                        "wait for the other import or command to finish, then run this again")
    if "readonly" in low or "read-only" in low:
        return _problem(url, "the database is read-only",
                        "make the file and its folder writable by this user")
    if "not a database" in low or "malformed" in low:
        return _problem(url, "the database file is corrupt (not an SQLite database)",
                        "restore it from a backup, or move it aside to start an empty ledger")
    if "unable to open" in low:
        return _problem(url, "cannot open the database file",
                        "check that its folder exists and is writable")
    if url.get_backend_name() != "sqlite" and isinstance(error, exc.OperationalError):
        return _problem(url, f"cannot reach PostgreSQL: {text}",
                        "start the server, or fix the host, port, user or database in the URL")
    return _problem(url, f"database error: {text}", "see the database's own log for details")


@contextmanager
def guarded(engine: Engine) -> Iterator[None]:
    """Turn the driver's errors into a LedgerError naming the database and the fix."""
    try:
        yield
    except (exc.OperationalError, exc.DatabaseError) as error:
        raise LedgerError(explain(error, engine.url)) from error
