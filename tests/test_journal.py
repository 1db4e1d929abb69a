"""The journal's states, the lease, and how answers are read, on a real SQLite ledger."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from publisher.delivery.journal import Journal
from publisher.delivery.lease import Lease, LeaseError
from publisher.delivery.ledger import utcnow
from publisher.delivery.pacing import backoff
from publisher.delivery.schema import send_leases, subscribers
from publisher.delivery.transports.base import smtp_outcome
from publisher.delivery.transports.ses import ses_outcome
from tests.sendkit import add_subscribers, ledger


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = ledger(tmp_path)
    add_subscribers(engine, [f"j{n}@example.org" for n in range(5)])
    return engine


def test_states_and_resume(engine: Engine) -> None:
    journal = Journal(engine, "2024-16")
    assert journal.plan() == {1, 2, 3, 4, 5}
    assert journal.plan() == set()  # idempotent
    assert journal.claim(1) and not journal.claim(1)  # once sending, never claimed again
    journal.sent(1, "250 queued as A")
    assert journal.claim(2)  # then the process dies: 2 stays uncertain
    assert journal.claim(3)
    journal.deferred(3, "451 later", utcnow() + timedelta(hours=1))
    assert journal.claim(4)
    journal.failed(4, "550 5.1.1 user unknown")
    assert journal.counts() == {"sent": 1, "sending": 1, "deferred": 1, "failed": 1, "pending": 1}
    assert [e.subscriber_id for e in journal.due(0, 100)] == [5]  # 3 is not due yet
    assert [line.email for line in journal.lines(["sending"])] == ["j1@example.org"]  # id 2
    assert journal.release_uncertain() == 1
    assert [e.subscriber_id for e in journal.due(0, 100)] == [2, 5]
    assert journal.next_retry() is not None
    with engine.begin() as db:  # someone unsubscribes meanwhile: not sent to
        db.execute(update(subscribers).where(subscribers.c.id == 5).values(status="unsubscribed"))
    assert [e.subscriber_id for e in journal.due(0, 100)] == [2]
    assert [e.subscriber_id for e in journal.due(0, 100, fresh_only=True)] == []


def test_lease_refuses_a_live_holder_and_takes_a_dead_or_expired_one(engine: Engine) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = Lease(engine, "2024-16", 60, pid=live.pid)
        holder.acquire()
        with pytest.raises(LeaseError) as refused:
            Lease(engine, "2024-16", 60).acquire()  # this host, a live owner
        assert f"another 'publisher send 2024-16' is running (pid {live.pid}" in str(refused.value)
        Lease(engine, "2024-17", 60).acquire()  # another issue is another lease
        holder.release()
        Lease(engine, "2024-16", 60).acquire()
    finally:
        live.kill()
        live.wait()
    # A holder on another host, still fresh: refused; once expired: taken over.
    with engine.begin() as db:
        db.execute(insert(send_leases).values(
            issue_id="2024-18", owner="elsewhere:1:1", host="elsewhere", pid=1,
            heartbeat_at=utcnow(), expires_at=utcnow() + timedelta(seconds=60)))
    with pytest.raises(LeaseError):
        Lease(engine, "2024-18", 60).acquire()
    with engine.begin() as db:
        db.execute(update(send_leases).values(expires_at=utcnow() - timedelta(seconds=1)))
    Lease(engine, "2024-18", 60).acquire()


def test_a_dead_process_lease_is_taken_at_once(engine: Engine) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    pid = int(dead.stdout)
    Lease(engine, "2024-16", 3600, pid=pid).acquire()  # as if that process held it, then died
    Lease(engine, "2024-16", 3600).acquire()


def test_answers() -> None:
    assert smtp_outcome(250, "2.0.0 Ok: queued as X").accepted
    assert smtp_outcome(451, "4.7.1 greylisted").kind == "deferred"
    assert not smtp_outcome(451, "4.7.1 greylisted").throttle
    for code in (421, 454):
        outcome = smtp_outcome(code, "4.7.0 slow down")
        assert outcome.kind == "deferred" and outcome.throttle
    gone = smtp_outcome(550, "5.1.1 <a@b.org>: Recipient address rejected: User unknown")
    assert gone.kind == "failed" and gone.bounced
    policy = smtp_outcome(550, "5.7.1 message refused as spam")
    assert policy.kind == "failed" and not policy.bounced
    assert ses_outcome("TooManyRequestsException", "x").throttle
    assert ses_outcome("MessageRejected", "x").kind == "failed"


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    waits = [backoff(n, 1.0, 30) for n in range(1, 8)]
    assert 0.5 <= waits[0] < 1.5 and 4 <= waits[3] < 12
    assert all(w < 45 for w in waits)  # the cap (30) times at most 1.5
    assert len({round(backoff(3, 1.0, 30), 6) for _ in range(20)}) > 1  # jitter
