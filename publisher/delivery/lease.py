"""One `send` per issue at a time: a lease row in the ledger's database.

The lease names its holder (host, pid and the process's start time, so a reused pid is not
mistaken for it) and expires unless renewed by a heartbeat. A new run takes it over when it
has expired, or at once when its holder is a dead process on this host (kill -9, then resume).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, exc, insert, select, update

from publisher.delivery.db import guarded
from publisher.delivery.ledger import as_utc, utcnow
from publisher.delivery.schema import send_leases
from publisher.errors import Problem, PublisherError
from publisher.output import running


class LeaseError(PublisherError):
    """Another `send` of the issue is running, or this one lost its lease."""


def process_start(pid: int) -> str:
    """The kernel's start time of a process (Linux), "" where unknown or gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def is_alive(pid: int, owner: str) -> bool:
    """Is the lease's owner still running? Only answerable for a process on this host."""
    if not running(pid):
        return False
    start = owner.rsplit(":", 1)[-1]
    return not start or not Path("/proc").is_dir() or process_start(pid) == start


@dataclass
class Lease:
    engine: Engine
    issue_id: str
    seconds: int
    host: str = field(default_factory=lambda: socket.gethostname()[:200])
    pid: int = field(default_factory=os.getpid)

    @property
    def owner(self) -> str:
        return f"{self.host}:{self.pid}:{process_start(self.pid)}"

    def _values(self) -> dict[str, object]:
        now = utcnow()
        return {"owner": self.owner, "host": self.host, "pid": self.pid, "heartbeat_at": now,
                "expires_at": now + timedelta(seconds=self.seconds)}

    def acquire(self) -> None:
        """Take the lease, or refuse naming who holds it."""
        table = send_leases.c
        with guarded(self.engine), self.engine.begin() as db:
            held = db.execute(select(send_leases).where(table.issue_id == self.issue_id)).first()
            if held is None:
                try:
                    db.execute(insert(send_leases).values(issue_id=self.issue_id, **self._values()))
                    return
                except exc.IntegrityError:  # another run inserted it a moment ago
                    raise self._refusal(None) from None
            if not self._may_take(held.owner, held.host, held.pid, as_utc(held.expires_at)):
                raise self._refusal(as_utc(held.heartbeat_at), held.host, held.pid)
            took = db.execute(update(send_leases)
                              .where(table.issue_id == self.issue_id, table.owner == held.owner)
                              .values(**self._values()))
            if took.rowcount != 1:
                raise self._refusal(None)

    def _may_take(self, owner: str, host: str, pid: int, expires: datetime) -> bool:
        if owner == self.owner or expires < utcnow():
            return True
        return host == self.host and not is_alive(pid, owner)

    def _refusal(self, beat: datetime | None, host: str = "", pid: int = 0) -> LeaseError:
        who = f" (pid {pid} on {host}, last heartbeat {beat:%H:%M:%S} UTC)" if beat else ""
        return LeaseError(Problem(
            "send", f"another 'publisher send {self.issue_id}' is running{who}", "issue",
            self.issue_id, "wait for it to finish, or stop it; a killed run's lease is taken "
            f"over at once on the same host, elsewhere after {self.seconds} s"))

    def renew(self) -> None:
        """The heartbeat; a lease taken over meanwhile stops this run."""
        table = send_leases.c
        query = (update(send_leases)
                 .where(table.issue_id == self.issue_id, table.owner == self.owner)
                 .values(heartbeat_at=utcnow(), expires_at=utcnow() + timedelta(seconds=self.seconds)))
        with guarded(self.engine), self.engine.begin() as db:
            if db.execute(query).rowcount != 1:
                raise LeaseError(Problem("send", "this run's lease was taken over by another "
                                         "run: stopping", "issue", self.issue_id,
                                         "check for another 'publisher send' of the issue"))

    def release(self) -> None:
        """Best effort: a lease left behind (database gone read-only) is taken over by the next
        run on this host at once, and elsewhere when it expires."""
        table = send_leases.c
        try:
            with guarded(self.engine), self.engine.begin() as db:
                db.execute(delete(send_leases).where(table.issue_id == self.issue_id,
                                                     table.owner == self.owner))
        except PublisherError:
            pass
