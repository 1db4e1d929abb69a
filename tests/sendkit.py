"""Workspaces for the send tests: the example newsletter, a ledger of confirmed subscribers,
[send] pointed at a test server, and `publisher send` run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from publisher.delivery.db import open_ledger
from publisher.delivery.ledger import Consent, create
from publisher.delivery.settings import SubscribersSettings
from tests.conftest import Run, copy_example
from tests.smtpd import PASSWORD, USER, Server

SECRET = "test-secret-0123456789abcdef"
ENDPOINT = "https://lists.example.org/"


def send_config(server: Server | None, database: str, **send: object) -> str:
    lines = ["", "[subscribers]", f'database = "{database}"', f'endpoint = "{ENDPOINT}"', "",
             "[send]"]
    if server is not None:
        lines += [f'host = "{server.host}"', f"port = {server.port}", f'ca_file = "{server.ca_file}"',
                  f'user = "{USER}"']
    settings = {"concurrency": 4, "backoff_base": 0.05, "backoff_max": 0.5, **send}
    for key, value in settings.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


def workspace(folder: Path, server: Server | None, database: str = "", **send: object) -> Path:
    ws = copy_example(folder)
    database = database or f"sqlite:///{folder / 'private' / 'subscribers.db'}"
    config = ws / "config.toml"
    config.write_text(config.read_text() + send_config(server, database, **send))
    return ws


def ledger(ws: Path, database: str = "") -> Engine:
    url = database or f"sqlite:///{ws / 'private' / 'subscribers.db'}"
    return open_ledger(ws, SubscribersSettings(database=url))


def add_subscribers(engine: Engine, emails: list[str], status: str = "confirmed") -> list[int]:
    consent = Consent("cli", "tests")
    with engine.begin() as db:
        return [create(db, email, f"Reader {n}", status, consent) for n, email in enumerate(emails)]


def env(**extra: str) -> dict[str, str]:
    base = {**os.environ, "PUBLISHER_SECRET": SECRET, "PUBLISHER_SEND__PASSWORD": PASSWORD}
    base.update(extra)
    return {k: v for k, v in base.items() if v}


def send(ws: Path, *args: str, environ: dict[str, str] | None = None, timeout: float = 300) -> Run:
    proc = subprocess.run([sys.executable, "-m", "publisher", "send", *args], cwd=ws,
                          capture_output=True, text=True, timeout=timeout, env=environ or env(),
                          stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def start_send(ws: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "publisher", "send", *args], cwd=ws,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env(), stdin=subprocess.DEVNULL)
