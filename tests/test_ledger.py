"""The ledger on SQLite and on a real PostgreSQL: migrations, statuses, events, suppression."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from publisher.delivery import ledger
from publisher.delivery.db import open_ledger
from publisher.delivery.schema import events, subscribers
from publisher.delivery.settings import SubscribersSettings
from publisher.errors import LedgerError

CLI = ledger.Consent("cli", "cli")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return open_ledger(tmp_path, SubscribersSettings())
    url = request.getfixturevalue("postgres_db")
    return open_ledger(tmp_path, SubscribersSettings(database=url))


def test_sqlite_ledger_lives_in_private_which_git_ignores(tmp_path: Path) -> None:
    open_ledger(tmp_path, SubscribersSettings()).dispose()
    assert (tmp_path / "private/subscribers.db").is_file()
    assert (tmp_path / "private/.gitignore").read_text().splitlines()[-1] == "*"
    tables = {r[0] for r in sqlite3.connect(tmp_path / "private/subscribers.db").execute(
        "select name from sqlite_master where type='table'")}
    assert {"subscribers", "events", "suppressions", "ledger_meta", "alembic_version"} <= tables


def test_confirmed_subscribers_and_mark_bounced(engine: Engine) -> None:
    with engine.begin() as c:
        a = ledger.create(c, "a@example.org", "A", "confirmed", CLI)
        ledger.create(c, "b@example.org", None, "unconfirmed", CLI)
    recipients = ledger.confirmed_subscribers(engine)
    assert [(r.id, r.email, r.name) for r in recipients] == [(a, "a@example.org", "A")]
    assert recipients[0].confirmed_at.tzinfo is not None
    assert ledger.mark_bounced(engine, "a@example.org", "550 5.1.1 user unknown")
    assert ledger.confirmed_subscribers(engine) == []
    assert not ledger.mark_bounced(engine, "nobody@example.org", "550")
    row, log = ledger.history(engine, "a@example.org")
    assert row is not None and row.status == "bounced"
    assert [e.kind for e in log] == ["added", "bounced"] and log[1].detail.startswith("550")


def test_forget_erases_the_person_but_keeps_the_suppression(engine: Engine) -> None:
    with engine.begin() as c:
        ledger.create(c, "a@example.org", "A", "confirmed", CLI, {"city": "Tbilisi"})
    assert ledger.forget(engine, "a@example.org") is not None
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(subscribers)) == 0
        assert c.scalar(select(func.count()).select_from(events)) == 0
        assert ledger.is_suppressed(c, "a@example.org")
        assert not ledger.is_suppressed(c, "b@example.org")


def test_three_soft_bounces_in_a_row_are_a_hard_one(engine: Engine) -> None:
    with engine.begin() as c:
        ledger.create(c, "a@example.org", None, "confirmed", CLI)
    statuses = [ledger.soft_bounce(engine, "a@example.org", "mailbox full", 3) for _ in range(3)]
    assert statuses == ["confirmed", "confirmed", "bounced"]


def test_a_corrupt_database_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    (tmp_path / "private/subscribers.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError) as caught:
        open_ledger(tmp_path, SubscribersSettings())
    assert "corrupt" in str(caught.value) and "subscribers.db" in str(caught.value)


def test_postgres_down_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = SubscribersSettings(database=f"postgresql+psycopg://u:hunter2@127.0.0.1:{port}/x")
    with pytest.raises(LedgerError) as caught:
        open_ledger(tmp_path, settings)
    message = str(caught.value)
    assert "cannot reach PostgreSQL" in message and "hunter2" not in message and str(port) in message


DATA = Path(__file__).parent / "data" / "subscribers"


def test_imports_with_attributes_and_updates_on_both_databases(engine: Engine) -> None:
    from publisher.delivery.imports import import_file

    report = import_file(engine, DATA / "listmonk.csv")
    assert report.format == "listmonk" and len(report.added) == 2
    with engine.connect() as c:
        row = ledger.find(c, "lm1@example.io")
        assert row is not None and row.attributes == {"city": "Bengaluru"} and row.name == "List Monk"
        assert row.confirmed_at is not None and row.consent_method == "import"
        assert c.scalar(select(func.count()).select_from(events)) == 2
    again = import_file(engine, DATA / "listmonk.csv", status="unsubscribed")
    assert [e for e, _ in again.updated] == ["lm1@example.io"]
    assert [r for _, _, r in again.skipped] == ["unsubscribed: only the person can subscribe again, through the form"]
    _, log = ledger.history(engine, "lm1@example.io")
    assert [(e.kind, e.status) for e in log] == [("added", "confirmed"), ("updated", "unsubscribed")]


def test_the_form_can_bring_back_a_forgotten_person_only_by_confirming(engine: Engine) -> None:
    with engine.begin() as c:
        ledger.create(c, "a@example.org", None, "confirmed", CLI)
    ledger.forget(engine, "a@example.org")
    again = ledger.subscribe_request(engine, "a@example.org", None, "https://x.org/subscribe")
    assert again is not None
    with engine.connect() as c:
        assert ledger.is_suppressed(c, "a@example.org")  # a form anyone can fill in is not consent
    assert ledger.confirm(engine, again, "https://x.org/subscribe")
    with engine.connect() as c:
        assert not ledger.is_suppressed(c, "a@example.org")
        row = ledger.find(c, "a@example.org")
        assert row is not None and row.status == "confirmed" and row.consent_method == "form"
