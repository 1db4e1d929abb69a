"""Group commit for the run's workers: the journal changes that arrive together share one
transaction. Each worker still waits for its own change to be committed before it goes on
(a claim before the hand-off, an answer before the next message), so the journal's promise is
unchanged; there are only fewer commits (SQLite fsyncs, PostgreSQL round trips)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from publisher.delivery.journal import Change, Journal

Pending = tuple[Change, "asyncio.Future[bool]"]


class JournalWriter:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.queue: asyncio.Queue[Pending] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._write())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def claim(self, subscriber_id: int) -> bool:
        return await self._submit(Change(subscriber_id, "sending"))

    async def record(self, subscriber_id: int, state: str, answer: str,
                     retry_at: datetime | None = None) -> None:
        await self._submit(Change(subscriber_id, state, answer, retry_at))

    async def _submit(self, change: Change) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((change, done))
        return await done

    async def _write(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                applied = self.journal.apply([change for change, _ in batch])
            except Exception as error:  # the database: every waiting worker gets the error
                for _, done in batch:
                    done.set_exception(error)
                continue
            for (_, done), ok in zip(batch, applied, strict=True):
                done.set_result(ok)
