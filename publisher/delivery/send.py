"""The run loop: due recipients -> claim (committed) -> hand-off -> record the answer.

N workers share one transport (N connections) and one pace. A stop (Ctrl-C, a pause after
too many failures, a lost lease, a database error) lets the messages in flight finish and
record their answers; nothing new starts. The journal is exact at every moment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from publisher.delivery.journal import Entry, Journal
from publisher.delivery.journal_writer import JournalWriter
from publisher.delivery.lease import Lease
from publisher.delivery.ledger import utcnow
from publisher.delivery.pacing import Pace, retry_time
from publisher.delivery.personalise import MessageTemplate, Personal, RecipientError
from publisher.delivery.send_settings import SendSettings
from publisher.delivery.transports.base import Outcome, Transport
from publisher.errors import PublisherError

BATCH = 500


@dataclass
class Tally:
    """What this run did, for the progress bar and the summary."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    bounced: int = 0
    in_a_row: int = 0
    last_answer: str = ""
    paused: str = ""
    error: PublisherError | None = None


@dataclass
class Job:
    journal: Journal
    template: MessageTemplate
    transport: Transport
    settings: SendSettings
    personal: Callable[[Entry], Personal]
    envelope_from: str
    bounce: Callable[[str, str], object]
    fresh_only: bool = False
    progress: Callable[[Tally], None] = lambda tally: None
    lease: Lease | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tally: Tally = field(default_factory=Tally)
    writer: JournalWriter | None = None

    @property
    def journal_writer(self) -> JournalWriter:
        assert self.writer is not None, "run() starts the writer"
        return self.writer


async def run(job: Job) -> Tally:
    """Send until nothing is due (deferred rows are waited for) or the run stops."""
    rate = min(filter(None, [job.settings.rate or None, job.transport.max_rate]), default=None)
    pace = Pace(rate, job.settings.backoff_base, job.settings.backoff_max)
    queue: asyncio.Queue[Entry] = asyncio.Queue(maxsize=job.settings.concurrency * 2)
    job.writer = JournalWriter(job.journal)
    job.writer.start()
    workers = [asyncio.create_task(worker(job, queue, pace)) for _ in range(job.settings.concurrency)]
    beat = asyncio.create_task(heartbeat(job))
    try:
        await produce(job, queue)
        await queue.join()
    except PublisherError as error:
        stop(job, error)
        await queue.join()
    finally:
        for task in [*workers, beat]:
            task.cancel()
        ended = await asyncio.gather(*workers, beat, return_exceptions=True)
        await job.journal_writer.stop()
    if bugs := [e for e in ended if isinstance(e, Exception)]:
        raise bugs[0]  # not a fault we know: never hide it
    return job.tally


def stop(job: Job, error: PublisherError | None = None, paused: str = "") -> None:
    if error is not None and job.tally.error is None:
        job.tally.error = error
    if paused:
        job.tally.paused = paused
    job.stop.set()


async def produce(job: Job, queue: asyncio.Queue[Entry]) -> None:
    """Feed the workers pass after pass; between passes, wait for deferred rows to come due."""
    after = 0
    while not job.stop.is_set():
        batch = job.journal.due(after, BATCH, job.fresh_only)
        for entry in batch:
            await queue.put(entry)
            if job.stop.is_set():
                return
        if batch:
            after = batch[-1].subscriber_id
            continue
        await queue.join()  # this pass is done: its deferred rows may now be due
        if after == 0 and not await wait_for_retries(job):
            return
        after = 0


async def wait_for_retries(job: Job) -> bool:
    """Sleep until the earliest deferred row is due; False when none is left."""
    due = job.journal.next_retry()
    if due is None:
        return False
    seconds = max(0.0, (due - utcnow()).total_seconds())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(job.stop.wait(), timeout=seconds + 0.01)
    return not job.stop.is_set()


async def worker(job: Job, queue: asyncio.Queue[Entry], pace: Pace) -> None:
    while True:
        entry = await queue.get()
        try:
            if not job.stop.is_set() and await pace.take(job.stop):
                await deliver(job, entry, pace)
        except PublisherError as error:  # the database: stop, the journal stays as committed
            stop(job, error)
        finally:
            queue.task_done()


async def deliver(job: Job, entry: Entry, pace: Pace) -> None:
    journal = job.journal_writer
    try:
        message = job.template.fill(job.personal(entry))
    except RecipientError as error:
        await journal.record(entry.subscriber_id, "failed", error.problems[0].message)
        record(job, Outcome("failed", error.problems[0].message))
        return
    if not await journal.claim(entry.subscriber_id):  # another pass got it first
        return
    outcome = await job.transport.send(job.envelope_from, entry.email, message)
    attempts = entry.attempts + 1
    if outcome.accepted:
        await journal.record(entry.subscriber_id, "sent", outcome.answer)
        pace.accepted()
    elif outcome.kind == "deferred" and attempts < job.settings.max_attempts:
        cfg = job.settings
        await journal.record(entry.subscriber_id, "deferred", outcome.answer,
                             retry_time(attempts, cfg.backoff_base, cfg.backoff_max))
        if outcome.throttle:
            pace.throttled()
    else:
        gave_up = "" if outcome.kind == "failed" else f"gave up after {attempts} attempts: "
        await journal.record(entry.subscriber_id, "failed", gave_up + outcome.answer)
        if outcome.bounced:
            job.bounce(entry.email, outcome.answer)
            job.tally.bounced += 1
        outcome = Outcome("failed", outcome.answer)
    record(job, outcome)


def record(job: Job, outcome: Outcome) -> None:
    tally = job.tally
    tally.last_answer = outcome.answer
    if outcome.accepted:
        tally.sent += 1
        tally.in_a_row = 0
    else:
        tally.failed += outcome.kind == "failed"
        tally.deferred += outcome.kind == "deferred"
        tally.in_a_row += 1
        if tally.in_a_row >= job.settings.pause_after:
            stop(job, paused=f"{tally.in_a_row} failures in a row; the last: {outcome.answer}")
    job.progress(tally)


async def heartbeat(job: Job) -> None:
    if job.lease is None:
        return
    while True:
        await asyncio.sleep(max(1.0, job.settings.lease_seconds / 3))
        try:
            job.lease.renew()
        except PublisherError as error:
            stop(job, error)
            return
