"""`publisher send` against a real SMTP server (aiosmtpd, STARTTLS + AUTH), on SQLite and,
where the server binaries exist, PostgreSQL: what arrives, what the journal says, the faults."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import mailparser
import pytest
from sqlalchemy import select

from publisher.delivery.schema import send_journal, subscribers
from publisher.delivery.tokens import verify
from tests.conftest import run_cli
from tests.sendkit import SECRET, add_subscribers, env, ledger, send, workspace
from tests.smtpd import Server, smtp_server


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """"" = the workspace's SQLite file; else a fresh PostgreSQL database (skips without one)."""
    return "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with smtp_server(tmp_path) as running:
        yield running


def parsed(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert all(not part.defects for part in msg.walk())
    other = mailparser.parse_from_bytes(raw)
    assert not other.defects and other.message_id == msg["Message-ID"]
    return msg


def journal_states(engine: object, issue: str = "2024-16") -> dict[str, str]:
    query = (select(subscribers.c.email, send_journal.c.state)
             .join(subscribers, subscribers.c.id == send_journal.c.subscriber_id)
             .where(send_journal.c.issue_id == issue))
    with engine.connect() as db:  # type: ignore[attr-defined]
        return {address: state for address, state in db.execute(query)}


def test_every_confirmed_subscriber_gets_it_once(tmp_path: Path, server: Server, database: str) -> None:
    ws = workspace(tmp_path / "ws", server, database)
    engine = ledger(ws, database)
    ids = add_subscribers(engine, [f"reader{n}@example.org" for n in range(40)])
    add_subscribers(engine, ["unconfirmed@example.org"], status="unconfirmed")
    first = send(ws, "2024-16", "--yes")
    assert first.code == 0, first.stderr
    assert "40 sent, 0 failed" in first.stdout
    received = server.mailbox.received
    assert sorted(received) == sorted(f"reader{n}@example.org" for n in range(40))
    message_ids = set()
    for (address, copies), subscriber_id in zip(sorted(received.items(), key=lambda i: int(
            i[0][6:].split("@")[0])), ids, strict=True):
        assert len(copies) == 1
        msg = parsed(copies[0])
        assert msg["To"].addresses[0].addr_spec == address
        token = msg["List-Unsubscribe"].split("unsubscribe/")[1].split(">")[0]
        assert verify(token, "unsubscribe", SECRET.encode()) == subscriber_id
        assert f"unsubscribe/{token}" in msg.get_body(("html",)).get_content()
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        message_ids.add(msg["Message-ID"])
    assert len(message_ids) == 40
    again = send(ws, "2024-16", "--yes")
    assert again.code == 0 and "Nothing to send" in again.stdout
    assert server.mailbox.total() == 40
    add_subscribers(engine, ["late@example.org"])
    late = send(ws, "2024-16", "--yes", "--only-new")
    assert late.code == 0 and "1 sent" in late.stdout
    assert server.mailbox.total() == 41 and len(received["late@example.org"]) == 1
    assert set(journal_states(engine).values()) == {"sent"}


def test_test_send_delivers_one_readable_message_of_a_draft(tmp_path: Path, server: Server) -> None:
    ws = workspace(tmp_path / "ws", server)
    result = send(ws, "2024-17", "--test", "me@example.org")
    assert result.code == 0, result.stderr
    assert "me@example.org: accepted: 250" in result.stdout
    (raw,) = server.mailbox.received["me@example.org"]
    msg = parsed(raw)
    assert msg["Subject"].startswith("[TEST] ")
    assert mailparser.parse_from_bytes(raw).subject.startswith("[TEST] ")
    assert not (ws / "private" / "subscribers.db").exists()  # no ledger, no journal


def test_an_unpublished_issue_is_refused_without_test(tmp_path: Path, server: Server) -> None:
    ws = workspace(tmp_path / "ws", server)
    add_subscribers(ledger(ws), ["a@example.org"])
    result = send(ws, "2024-17", "--yes")
    assert result.code == 2
    assert "issues/2024-17.toml" in result.stderr and "draft" in result.stderr
    assert "publisher publish 2024-17" in result.stderr and "Traceback" not in result.stderr
    assert server.mailbox.total() == 0


def test_an_empty_list_is_an_error(tmp_path: Path, server: Server) -> None:
    ws = workspace(tmp_path / "ws", server)
    result = send(ws, "2024-16", "--yes")
    assert result.code != 0 and "no confirmed subscribers" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_yes_and_no_terminal_it_asks_for_yes(tmp_path: Path, server: Server) -> None:
    ws = workspace(tmp_path / "ws", server)
    add_subscribers(ledger(ws), ["a@example.org"])
    result = send(ws, "2024-16")
    assert result.code == 2 and "--yes" in result.stderr
    assert server.mailbox.total() == 0


def test_scripted_answers(tmp_path: Path) -> None:
    """451 retried, 454/421/drops slow the pace and are retried, 550 fails and bounces."""
    answers = {"greylist@example.org": ["451 4.7.1 greylisted", "ok"],
               "throttle@example.org": ["454 4.7.0 too many", "454 4.7.0 too many", "ok"],
               "closing@example.org": ["421 4.3.2 shutting down", "ok"],
               "drop@example.org": ["drop", "ok"],
               "dropdata@example.org": ["drop-data", "ok"],
               "gone@example.org": ["550 5.1.1 <gone@example.org>: user unknown"]}

    def script(rcpt: str, attempt: int) -> str:
        steps = answers.get(rcpt, ["ok"])
        return steps[min(attempt, len(steps)) - 1]

    with smtp_server(tmp_path, script) as server:
        ws = workspace(tmp_path / "ws", server)
        engine = ledger(ws)
        normal = [f"r{n}@example.org" for n in range(20)]
        add_subscribers(engine, [*answers, *normal])
        result = send(ws, "2024-16", "--yes")
        received = server.mailbox.received
    assert result.code == 1, result.stderr  # one recipient failed for good
    assert "1 failed" in result.stdout and "1 marked bounced" in result.stdout
    for address in [*answers, *normal]:
        assert len(received[address]) == (0 if address == "gone@example.org" else 1), address
    states = journal_states(engine)
    assert states.pop("gone@example.org") == "failed" and set(states.values()) == {"sent"}
    with engine.connect() as db:
        status = db.scalar(select(subscribers.c.status).where(subscribers.c.email == "gone@example.org"))
    assert status == "bounced"
    shown = send(ws, "2024-16", "--status")
    assert "gone@example.org" in shown.stdout and "550 5.1.1" in shown.stdout


def test_throttling_share_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    def script(rcpt: str, attempt: int) -> str:
        n = int(rcpt[1:].split("@")[0])
        return "454 4.7.0 slow down" if attempt == 1 and n % 4 == 0 else "ok"

    with smtp_server(tmp_path, script) as server:
        ws = workspace(tmp_path / "ws", server, concurrency=8)
        engine = ledger(ws)
        addresses = [f"t{n}@example.org" for n in range(200)]
        add_subscribers(engine, addresses)
        result = send(ws, "2024-16", "--yes")
        received = dict(server.mailbox.received)
        attempts = dict(server.mailbox.attempts)
    assert result.code == 0, result.stderr
    assert "200 sent, 0 failed" in result.stdout
    assert all(len(received[a]) == 1 for a in addresses) and len(received) == 200
    assert sum(attempts.values()) == 250  # 50 throttled once, each retried once
    assert set(journal_states(engine).values()) == {"sent"}


def test_refused_connection_auth_and_missing_starttls(tmp_path: Path, server: Server) -> None:
    ws = workspace(tmp_path / "ws", server)
    engine = ledger(ws)
    add_subscribers(engine, ["a@example.org"])
    wrong = send(ws, "2024-16", "--yes", environ=env(PUBLISHER_SEND__PASSWORD="wrong"))
    assert wrong.code == 1 and "refused AUTH for user 'sender'" in wrong.stderr
    missing = send(ws, "2024-16", "--yes", environ=env(PUBLISHER_SEND__PASSWORD=""))
    assert missing.code == 1 and "PUBLISHER_SEND__PASSWORD" in missing.stderr
    with smtp_server(tmp_path / "plain", tls=False, auth=False) as plain:
        config = ws / "config.toml"
        config.write_text(config.read_text().replace(f"port = {server.port}", f"port = {plain.port}"))
        no_tls = send(ws, "2024-16", "--yes")
        assert no_tls.code == 1 and "offers no STARTTLS" in no_tls.stderr
        assert plain.mailbox.total() == 0
    refused = send(ws, "2024-16", "--yes")  # nothing listens on that port any more
    assert refused.code == 1 and "cannot connect" in refused.stderr
    for result in (wrong, missing, no_tls, refused):
        assert "Traceback" not in result.stderr
    assert set(journal_states(engine).values()) <= {"pending"}  # nothing was claimed


def test_dry_run_writes_every_message(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", None)
    add_subscribers(ledger(ws), [f"d{n}@example.org" for n in range(5)])
    result = send(ws, "2024-17", "--dry-run", "--out", str(tmp_path / "out"))
    assert result.code == 0, result.stderr
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 5
    assert {parsed(f.read_bytes())["To"].addresses[0].addr_spec for f in files} == {
        f"d{n}@example.org" for n in range(5)}
    box = send(ws, "2024-17", "--dry-run", "--out", str(tmp_path / "all.mbox"))
    assert box.code == 0 and (tmp_path / "all.mbox").read_bytes().count(b"\nFrom ") >= 4
    again = send(ws, "2024-17", "--dry-run", "--out", str(tmp_path / "out"))
    assert again.code == 2 and "not empty" in again.stderr


def test_a_password_in_config_is_refused(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", None, password="hunter2")
    checked = run_cli("check", cwd=ws)
    assert checked.code == 1 and "secrets may not be stored in config.toml" in checked.stderr
    assert "PUBLISHER_SEND__PASSWORD" in checked.stderr and "hunter2" not in checked.stderr


def test_implicit_tls_and_an_untrusted_certificate(tmp_path: Path) -> None:
    with smtp_server(tmp_path, implicit=True) as server:
        ws = workspace(tmp_path / "ws", server, tls="implicit")
        add_subscribers(ledger(ws), ["a@example.org", "b@example.org"])
        config = ws / "config.toml"
        trusting = config.read_text()
        config.write_text(trusting.replace(f'ca_file = "{server.ca_file}"', 'ca_file = ""'))
        untrusted = send(ws, "2024-16", "--yes")
        assert untrusted.code == 1 and "TLS certificate is not trusted" in untrusted.stderr
        assert "[send] ca_file" in untrusted.stderr and server.mailbox.total() == 0
        config.write_text(trusting)
        result = send(ws, "2024-16", "--yes")
        assert result.code == 0, result.stderr
        assert sorted(server.mailbox.received) == ["a@example.org", "b@example.org"]


def test_a_pause_after_failures_in_a_row(tmp_path: Path) -> None:
    with smtp_server(tmp_path, lambda rcpt, attempt: "451 4.3.0 queue full") as server:
        ws = workspace(tmp_path / "ws", server, pause_after=5, concurrency=1)
        engine = ledger(ws)
        add_subscribers(engine, [f"p{n}@example.org" for n in range(20)])
        result = send(ws, "2024-16", "--yes")
    assert result.code == 1
    assert "Paused after 5 failures in a row; the last: 451 4.3.0 queue full" in result.stderr
    assert "again to resume" in result.stderr
    states = journal_states(engine)
    assert list(states.values()).count("deferred") == 5 and "sending" not in states.values()
