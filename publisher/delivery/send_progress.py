"""The send run's progress bar on stderr: sent, failed, rate and ETA (only on a terminal)."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from publisher.delivery.send import Tally


class ProgressBar:
    def __init__(self, console: Console, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.progress = Progress(
            TextColumn("Sending"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[sent]:,} sent · {task.fields[failed]:,} failed · "
                       "{task.fields[rate]:.0f}/s"),
            TimeRemainingColumn(), console=console, transient=True,
            disable=not console.is_terminal,
        )
        self.task = self.progress.add_task("send", total=total, sent=0, failed=0, rate=0.0)

    def update(self, tally: Tally) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, completed=tally.sent + tally.failed, sent=tally.sent,
                             failed=tally.failed, rate=tally.sent / elapsed)

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.progress.stop()
