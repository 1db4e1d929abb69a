"""The send journal: one row per (issue, recipient), pending -> sending -> sent | failed | deferred.

Every change is its own committed transaction. A row is `sending` before its message is handed
over and `sent` right after the server accepted it, so after a crash the `sending` rows are the
only uncertain ones: they are listed, never resent unless asked (`release_uncertain`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, insert, or_, select, update

from publisher.delivery.db import guarded
from publisher.delivery.ledger import as_utc, utcnow
from publisher.delivery.schema import send_journal, subscribers

ANSWER_MAX = 1000
DUE_STATES = ("pending", "deferred")
_J = send_journal.c
_ROW = (_J.issue_id == bindparam("issue"), _J.subscriber_id == bindparam("sid"))
CLAIM = (update(send_journal).where(*_ROW, _J.state.in_(DUE_STATES))
         .values(state="sending", attempts=_J.attempts + 1, updated_at=bindparam("now")))
RECORD = (update(send_journal).where(*_ROW)
          .values(state=bindparam("new_state"), answer=bindparam("new_answer"),
                  retry_at=bindparam("new_retry"), updated_at=bindparam("now")))


@dataclass(frozen=True)
class Entry:
    """A recipient the run may send to now."""

    subscriber_id: int
    email: str
    name: str | None
    attempts: int


@dataclass(frozen=True)
class Change:
    """One row's new state: "sending" (a claim), "sent", "deferred" or "failed"."""

    subscriber_id: int
    state: str
    answer: str = ""
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Line:
    """A journal row as --status shows it."""

    email: str
    state: str
    attempts: int
    answer: str
    updated_at: datetime


class Journal:
    """The journal of one issue, over the ledger's engine."""

    def __init__(self, engine: Engine, issue_id: str) -> None:
        self.engine, self.issue_id = engine, issue_id
        self.mine = send_journal.c.issue_id == issue_id

    def plan(self) -> set[int]:
        """Add a pending row for every confirmed subscriber the journal lacks; their ids."""
        known = select(send_journal.c.subscriber_id).where(self.mine)
        query = select(subscribers.c.id).where(
            subscribers.c.status == "confirmed", subscribers.c.id.not_in(known)
        )
        with guarded(self.engine), self.engine.begin() as db:
            new = set(db.scalars(query))
            now = utcnow()
            rows = [self._row(i, now) for i in sorted(new)]
            for start in range(0, len(rows), 5000):
                db.execute(insert(send_journal), rows[start : start + 5000])
        return new

    def _row(self, subscriber_id: int, now: datetime) -> dict[str, Any]:
        return {"issue_id": self.issue_id, "subscriber_id": subscriber_id, "state": "pending",
                "attempts": 0, "updated_at": now}

    def due(self, after: int, limit: int, fresh_only: bool = False) -> list[Entry]:
        """Confirmed recipients past `after` (by id) that are pending, or deferred and due now;
        fresh_only: never tried yet (--only-new)."""
        j, s = send_journal.c, subscribers.c
        ready = or_(j.state == "pending", and_(j.state == "deferred", j.retry_at <= utcnow()))
        if fresh_only:
            ready = and_(j.state == "pending", j.attempts == 0)
        query = (
            select(j.subscriber_id, s.email, s.name, j.attempts)
            .join(subscribers, s.id == j.subscriber_id)
            .where(self.mine, ready, s.status == "confirmed", j.subscriber_id > after)
            .order_by(j.subscriber_id)
            .limit(limit)
        )
        with guarded(self.engine), self.engine.connect() as db:
            return [Entry(r.subscriber_id, r.email, r.name, r.attempts) for r in db.execute(query)]

    def next_retry(self) -> datetime | None:
        """When the earliest deferred row of a confirmed subscriber is due."""
        j = send_journal.c
        query = (
            select(func.min(j.retry_at))
            .join(subscribers, subscribers.c.id == j.subscriber_id)
            .where(self.mine, j.state == "deferred", subscribers.c.status == "confirmed")
        )
        with guarded(self.engine), self.engine.connect() as db:
            found = db.scalar(query)
        return as_utc(found) if found else None

    def claim(self, subscriber_id: int) -> bool:
        """pending/deferred -> sending, committed before the hand-off. False if not claimable."""
        return self._run(CLAIM, subscriber_id, "sending")

    def sent(self, subscriber_id: int, answer: str) -> None:
        self._run(RECORD, subscriber_id, "sent", answer)

    def deferred(self, subscriber_id: int, answer: str, retry_at: datetime) -> None:
        self._run(RECORD, subscriber_id, "deferred", answer, retry_at)

    def failed(self, subscriber_id: int, answer: str) -> None:
        self._run(RECORD, subscriber_id, "failed", answer)

    def _run(self, statement: Any, subscriber_id: int, state: str = "", answer: str = "",
             retry_at: datetime | None = None) -> bool:
        return self.apply([Change(subscriber_id, state, answer, retry_at)])[0]

    def apply(self, changes: list[Change]) -> list[bool]:
        """Several rows' changes in one committed transaction (a group commit); for each,
        whether it applied. A claim (state "sending") applies only to a pending/deferred row."""
        # Two statements built once: per message only their parameters change.
        now = utcnow()
        with guarded(self.engine), self.engine.begin() as db:
            return [bool(db.execute(CLAIM if c.state == "sending" else RECORD, {
                "issue": self.issue_id, "sid": c.subscriber_id, "now": now, "new_state": c.state,
                "new_answer": c.answer[:ANSWER_MAX], "new_retry": c.retry_at}).rowcount)
                for c in changes]

    def counts(self) -> dict[str, int]:
        j = send_journal.c
        query = select(j.state, func.count()).where(self.mine).group_by(j.state)
        with guarded(self.engine), self.engine.connect() as db:
            return {state: int(n) for state, n in db.execute(query).tuples()}

    def lines(self, states: Iterable[str]) -> list[Line]:
        """Rows in these states, with their addresses and answers, by id."""
        j, s = send_journal.c, subscribers.c
        query = (
            select(s.email, j.state, j.attempts, j.answer, j.updated_at)
            .join(subscribers, s.id == j.subscriber_id)
            .where(self.mine, j.state.in_(tuple(states)))
            .order_by(j.subscriber_id)
        )
        with guarded(self.engine), self.engine.connect() as db:
            return [Line(r.email, r.state, r.attempts, r.answer or "", as_utc(r.updated_at))
                    for r in db.execute(query)]

    def release_uncertain(self) -> int:
        """--resend-uncertain: every `sending` row becomes pending again; how many."""
        query = (
            update(send_journal)
            .where(self.mine, send_journal.c.state == "sending")
            .values(state="pending", answer="uncertain after a stop; resent on request",
                    updated_at=utcnow())
        )
        with guarded(self.engine), self.engine.begin() as db:
            return int(db.execute(query).rowcount)
