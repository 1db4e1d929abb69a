"""Crash safety against a real SMTP server: kill -9 at random moments, resume, and count what
arrived; Ctrl-C; a second run on the same issue; the database turning read-only mid-send."""

from __future__ import annotations

import random
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, select, text

from publisher.delivery.schema import send_journal, subscribers
from publisher.delivery.tokens import verify
from tests.sendkit import SECRET, add_subscribers, ledger, send, start_send, workspace
from tests.servers import free_port, serving
from tests.smtpd import Mailbox, Server, smtp_server

CONCURRENCY = 4
TOKEN = re.compile(rb"<https://lists\.example\.org/unsubscribe/([A-Za-z0-9._-]+)>")


def states(engine: Engine) -> dict[str, list[str]]:
    query = (select(subscribers.c.email, send_journal.c.state)
             .join(subscribers, subscribers.c.id == send_journal.c.subscriber_id)
             .where(send_journal.c.issue_id == "2024-16"))
    found: dict[str, list[str]] = {}
    with engine.connect() as db:
        for address, state in db.execute(query):
            found.setdefault(state, []).append(address)
    return found


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def kill_at_random(ws: Path, engine: Engine, mailbox: Mailbox, rng: random.Random) -> set[str] | None:
    """Start a run, kill -9 it at a random moment; the recipients it left uncertain, or None
    if the run finished first (after several kills, few recipients are left: a quick machine
    sends them all within the random wait)."""
    proc = start_send(ws, "2024-16", "--yes")
    time.sleep(rng.uniform(0.3, 2.5))
    if rng.random() < 0.5:  # half of the kills strike while messages are flowing
        before = mailbox.total()
        wait_until(lambda: mailbox.total() > before + rng.randint(1, 150) or proc.poll() is not None)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.returncode == 0:
        return None
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    return set(states(engine).get("sending", []))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_nine_and_resume(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    database = "" if backend == "sqlite" else str(request.getfixturevalue("postgres_db"))
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    with smtp_server(tmp_path) as server:
        ws = workspace(tmp_path / "ws", server, database, concurrency=CONCURRENCY)
        engine = ledger(ws, database)
        addresses = [f"k{n}@example.org" for n in range(5000)]
        ids = dict(zip(addresses, add_subscribers(engine, addresses), strict=True))
        uncertain: set[str] = set()
        kills = 0
        while kills < 12:
            left = uncertain | set(states(engine).get("sending", []))
            found = kill_at_random(ws, engine, server.mailbox, rng)
            if found is None:  # the run finished before its kill: nothing left to strike
                break
            new = found - left
            assert len(new) <= CONCURRENCY, (seed, new)  # at most the messages in flight
            uncertain |= new
            kills += 1
        assert kills >= 4, (seed, kills, "the runs finished before the kills could matter")
        finish = send(ws, "2024-16", "--yes")
        assert finish.code == 0, (seed, finish.stderr)
        if uncertain:
            assert f"Uncertain: {len(uncertain)} recipients" in finish.stderr
            assert all(a in finish.stderr for a in uncertain)
        assert set(states(engine).get("sending", [])) == uncertain
        resend = send(ws, "2024-16", "--yes", "--resend-uncertain")
        assert resend.code == 0, (seed, resend.stderr)
        received = dict(server.mailbox.received)
    assert set(received) == set(addresses), seed  # everyone got it
    twice = {a for a, copies in received.items() if len(copies) > 1}
    assert twice <= uncertain, (seed, twice - uncertain)  # duplicates only where uncertain
    assert all(len(copies) <= 2 for copies in received.values())
    assert set(states(engine)) == {"sent"}
    links = {}
    for address, copies in received.items():  # every unsubscribe link carries its own token
        for raw in copies:
            match = TOKEN.search(raw)
            assert match and verify(match.group(1).decode(), "unsubscribe", SECRET.encode()) == ids[address]
            assert raw.count(b"Message-ID: ") == 1
            links[address] = match.group(1).decode()
    print(f"seed {seed}: {kills} kills, {len(uncertain)} uncertain, {len(twice)} received twice")
    if backend == "postgresql":  # the same code path as SQLite's full run: a sample keeps it short
        links = dict(rng.sample(sorted(links.items()), 500))
    unsubscribe_all_through_serve(ws, links, engine)


def unsubscribe_all_through_serve(ws: Path, links: dict[str, str], engine: Engine) -> None:
    """Each message's link, one-click POSTed (RFC 8058) to a real `publisher serve`."""
    port = free_port()
    with serving(ws, port, {"PUBLISHER_SECRET": SECRET}) as base, httpx.Client(base_url=base) as http:
        for token in links.values():
            answer = http.post(f"unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                               headers={"content-type": "application/x-www-form-urlencoded"})
            assert answer.status_code == 200 and "unsubscribed" in answer.text
    with engine.connect() as db:
        left = set(db.scalars(select(subscribers.c.email).where(subscribers.c.status == "confirmed")))
    assert not left & set(links) and len(left) == 5000 - len(links)


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        ws = workspace(tmp_path / "ws", server, rate=40)
        engine = ledger(ws)
        addresses = [f"c{n}@example.org" for n in range(300)]
        add_subscribers(engine, addresses)
        proc = start_send(ws, "2024-16", "--yes")
        wait_until(lambda: server.mailbox.total() >= 20)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "messages in flight were finished" in err and "again to resume" in err
        journal = states(engine)
        assert "sending" not in journal  # exact: nothing uncertain after a clean stop
        assert len(journal["sent"]) == server.mailbox.total() < 300
        resumed = send(ws, "2024-16", "--yes", "--rate", "0")
        assert resumed.code == 0, resumed.stderr
        received = dict(server.mailbox.received)
    assert sorted(received) == sorted(addresses)
    assert all(len(copies) == 1 for copies in received.values())


def test_a_second_run_on_the_same_issue_refuses(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        ws = workspace(tmp_path / "ws", server, rate=10)
        add_subscribers(ledger(ws), [f"l{n}@example.org" for n in range(100)])
        first = start_send(ws, "2024-16", "--yes")
        wait_until(lambda: server.mailbox.total() >= 2)
        second = send(ws, "2024-16", "--yes")
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert second.code == 1
    assert f"another 'publisher send 2024-16' is running (pid {first.pid}" in second.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_database_turning_read_only_mid_send(tmp_path: Path, backend: str,
                                                 request: pytest.FixtureRequest) -> None:
    database = "" if backend == "sqlite" else str(request.getfixturevalue("postgres_db"))
    with smtp_server(tmp_path) as server:
        ws = workspace(tmp_path / "ws", server, database, rate=100)
        engine = ledger(ws, database)
        addresses = [f"ro{n}@example.org" for n in range(400)]
        add_subscribers(engine, addresses)
        proc = start_send(ws, "2024-16", "--yes")
        wait_until(lambda: server.mailbox.total() >= 30)
        make_read_only(engine, database, on=True)
        _, err = proc.communicate(timeout=60)
        make_read_only(engine, database, on=False)
        assert proc.returncode == 1, err
        assert "read-only" in err or "cannot reach PostgreSQL" in err, err
        assert "again to resume" in err and "Traceback" not in err
        left = set(states(engine).get("sending", []))
        assert len(left) <= CONCURRENCY
        finish = send(ws, "2024-16", "--yes", "--resend-uncertain")
        assert finish.code == 0, finish.stderr
        received = dict(server.mailbox.received)
    assert set(received) == set(addresses)
    assert {a for a, copies in received.items() if len(copies) > 1} <= left


def make_read_only(engine: Engine, database: str, on: bool) -> None:
    """PostgreSQL: the database really read-only, its sessions ended. SQLite: a trigger that
    fails every journal write with SQLite's own read-only error (an open file's descriptor
    stays writable whatever its mode, so chmod cannot do it mid-run)."""
    if not database:
        with engine.begin() as db:
            db.execute(text("DROP TRIGGER IF EXISTS read_only"))
            if on:
                db.execute(text("CREATE TRIGGER read_only BEFORE UPDATE ON send_journal BEGIN "
                                "SELECT RAISE(ABORT, 'attempt to write a readonly database'); END"))
        return
    name = engine.url.database
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'))
        db.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
    admin.dispose()
    engine.dispose()


def test_server_script_is_used(tmp_path: Path) -> None:
    """The test server really answers as scripted (the other tests rely on it)."""
    with smtp_server(tmp_path, lambda rcpt, attempt: "550 5.1.1 user unknown") as server:
        assert isinstance(server, Server)
        import smtplib
        import ssl

        with smtplib.SMTP(server.host, server.port) as client:
            client.starttls(context=ssl.create_default_context(cafile=str(server.ca_file)))
            client.login("sender", "s3cret-pass")
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail("a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.recipients["b@example.org"][0] == 550
