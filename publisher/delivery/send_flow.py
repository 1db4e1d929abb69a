"""The CLI side of `publisher send`: checks, the question, the progress bar, the summary.

The work itself is below (outgoing, journal, lease, send); this module only talks to the
person at the terminal, and turns the run's end into an exit code."""

from __future__ import annotations

import asyncio
import mailbox
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from publisher.config import Config
from publisher.delivery import outgoing
from publisher.delivery.db import open_ledger
from publisher.delivery.journal import Entry, Journal
from publisher.delivery.lease import Lease
from publisher.delivery.ledger import confirmed_subscribers, mark_bounced
from publisher.delivery.send import Job, Tally, run
from publisher.delivery.send_progress import ProgressBar
from publisher.delivery.tokens import secret_from_env
from publisher.delivery.transports.base import Transport
from publisher.errors import Problem, PublisherError, UsageError
from publisher.selection import IssueView
from publisher.workspace import Workspace

INTERRUPTED = 130


@dataclass(frozen=True)
class Options:
    issue: str
    root: Path
    yes: bool = False
    rate: float | None = None
    concurrency: int | None = None
    only_new: bool = False
    resend_uncertain: bool = False


def configured(workspace: Workspace, options: Options) -> Config:
    """[send] with the command line's --rate and --concurrency on top."""
    changes = {k: v for k, v in (("rate", options.rate), ("concurrency", options.concurrency))
               if v is not None}
    config = workspace.config
    send = config.send.model_copy(update=changes)
    if send.ca_file and not Path(send.ca_file).is_absolute():
        send = send.model_copy(update={"ca_file": str(workspace.root / send.ca_file)})
    return config.model_copy(update={"send": send})


def describe(transport: Transport, config: Config) -> str:
    if config.send.transport == "ses":
        return "Amazon SES"
    return f"SMTP {getattr(transport, 'where', '')}"


# --- --test ------------------------------------------------------------------------------


def send_test(options: Options, raw: list[str], out: Console, err: Console) -> int:
    """Send now to a few addresses; drafts too; no ledger, no journal."""
    workspace, view = outgoing.load_issue(options.root, options.issue, draft_ok=True)
    addresses = outgoing.test_addresses(raw)
    config = configured(workspace, options)
    template = outgoing.issue_template(workspace, view, "[TEST] ")
    transport = outgoing.make_transport(config)

    async def go() -> int:
        await transport.open()
        failures = 0
        try:
            for address in addresses:
                message = template.fill(outgoing.test_personal(config, view.issue.id, address))
                outcome = await transport.send(outgoing.envelope_from(config), address, message)
                failures += not outcome.accepted
                (out if outcome.accepted else err).print(f"{address}: {outcome.kind}: "
                                                         f"{outcome.answer}", markup=False)
        finally:
            await transport.close()
        return 1 if failures else 0

    return asyncio.run(go())


# --- --dry-run ---------------------------------------------------------------------------


def dry_run(options: Options, target: Path, out: Console) -> int:
    """Every personalised message into a folder of .eml files, or one mbox file."""
    workspace, view = outgoing.load_issue(options.root, options.issue, draft_ok=True)
    config = workspace.config
    personal = outgoing.personal_maker(config, view.issue.id, secret_from_env())
    engine = open_ledger(workspace.root, config.subscribers)
    recipients = confirmed_subscribers(engine)
    if not recipients:
        raise UsageError(Problem(config.subscribers.database, "no confirmed subscribers",
                                 hint="add some with 'publisher subscribers'"))
    template = outgoing.issue_template(workspace, view)
    messages = [(r.id, template.fill(personal(Entry(r.id, r.email, r.name, 0))))
                for r in recipients]
    write_messages(target, messages)
    out.print(f"Wrote {len(messages)} messages to {target}")
    return 0


def write_messages(target: Path, messages: list[tuple[int, bytes]]) -> None:
    """Never over what publisher did not write: a new folder or mbox, or an empty folder."""
    if target.exists() and (target.is_file() or any(target.iterdir())):
        raise UsageError(Problem(str(target), "already exists and is not empty",
                                 hint="give a new folder (or .mbox file) for --out"))
    if target.suffix == ".mbox":
        box = mailbox.mbox(target, create=True)
        for _, raw in messages:
            box.add(raw)
        box.close()
        return
    target.mkdir(parents=True, exist_ok=True)
    for subscriber_id, raw in messages:
        (target / f"{subscriber_id:07d}.eml").write_bytes(raw)


# --- --status ----------------------------------------------------------------------------


def show_status(options: Options, out: Console) -> int:
    from publisher.workspace import load_workspace

    workspace = load_workspace(options.root)
    workspace.issue(options.issue)
    journal = Journal(open_ledger(workspace.root, workspace.config.subscribers), options.issue)
    counts = journal.counts()
    order = ("sent", "failed", "deferred", "pending", "sending")
    summary = ", ".join(f"{counts.get(s, 0):,} {'uncertain (sending)' if s == 'sending' else s}"
                        for s in order)
    out.print(f"Issue {options.issue}: {summary}" if counts else
              f"Issue {options.issue}: never sent (no journal yet)")
    for title, states in (("Failed", ["failed"]), ("Deferred", ["deferred"])):
        if lines := journal.lines(states):
            out.print(f"{title}:")
            for line in lines:
                out.print(f"  {line.email}  ({line.attempts} attempts)  {line.answer}", markup=False)
    print_uncertain(journal, options.issue, out)
    return 0


def print_uncertain(journal: Journal, issue: str, console: Console) -> int:
    lines = journal.lines(["sending"])
    if lines:
        console.print(f"Uncertain: {len(lines)} recipients were being handed over when a run "
                      "stopped; they may or may not have received the issue:")
        for line in lines:
            console.print(f"  {line.email}  (since {line.updated_at:%Y-%m-%d %H:%M:%S} UTC)",
                          markup=False)
        console.print(f"They are not resent on resume; to send them again (same Message-ID, so "
                      f"most receivers drop a duplicate): publisher send {issue} --resend-uncertain")
    return len(lines)


# --- the real send -----------------------------------------------------------------------


def send_issue(options: Options, out: Console, err: Console) -> int:
    workspace, view = outgoing.load_issue(options.root, options.issue, draft_ok=False)
    config = configured(workspace, options)
    personal = outgoing.personal_maker(config, view.issue.id, secret_from_env())
    transport = outgoing.make_transport(config)
    engine = open_ledger(workspace.root, config.subscribers)
    journal = Journal(engine, view.issue.id)
    lease = Lease(engine, view.issue.id, config.send.lease_seconds)
    lease.acquire()
    try:
        return send_with_lease(options, workspace, view, config, journal, lease, transport,
                               personal, out, err)
    finally:
        lease.release()


def send_with_lease(options: Options, workspace: Workspace, view: IssueView, config: Config,
                    journal: Journal, lease: Lease, transport: Transport,
                    personal: outgoing.Personalise, out: Console, err: Console) -> int:
    journal.plan()
    if options.resend_uncertain:
        if released := journal.release_uncertain():
            out.print(f"{released} uncertain recipients will be sent again.")
    else:
        print_uncertain(journal, options.issue, err)
    counts = journal.counts()
    todo = todo_count(journal, options.only_new)
    if not counts:
        raise UsageError(Problem(config.subscribers.database, "no confirmed subscribers: the list "
                                 "is empty", hint="add or confirm subscribers first"))
    if todo == 0:
        out.print(f"Nothing to send for {options.issue}: {counts.get('sent', 0):,} sent, "
                  f"{counts.get('failed', 0):,} failed.")
        return 0
    template = outgoing.issue_template(workspace, view)
    subject = template_subject(view)
    if not confirm(options, f"Send '{subject}' to {todo:,} recipients via "
                   f"{describe(transport, config)}?", err):
        err.print("Nothing sent.")
        return 1
    job = Job(journal, template, transport, config.send, personal, outgoing.envelope_from(config),
              lambda email, reason: mark_bounced(journal.engine, email, reason),
              fresh_only=options.only_new, lease=lease)
    tally = asyncio.run(run_with_signals(job, transport, ProgressBar(err, todo)))
    return summary(options, journal, tally, out, err)


def todo_count(journal: Journal, only_new: bool) -> int:
    counts = journal.counts()
    if only_new:
        return len(journal.due(0, 10**9, fresh_only=True))
    return counts.get("pending", 0) + counts.get("deferred", 0)


def template_subject(view: IssueView) -> str:
    from publisher.eml import subject_for

    return subject_for(view.config, view.issue, view.number)


def confirm(options: Options, question: str, err: Console) -> bool:
    if options.yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(Problem("send", "cannot ask for confirmation: standard input is not a "
                                 "terminal", hint="add --yes to send without the question"))
    return err.input(f"{question} [y/N] ", markup=False).strip().lower() in ("y", "yes")


async def run_with_signals(job: Job, transport: Transport, bar: ProgressBar) -> Tally:
    """Open the transport, run, close; Ctrl-C (or SIGTERM) stops cleanly."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt, job)
    await transport.open()
    job.progress = bar.update
    try:
        with bar:
            return await run(job)
    finally:
        await transport.close()


def interrupt(job: Job) -> None:
    job.tally.paused = job.tally.paused or "interrupted"
    job.stop.set()


def summary(options: Options, journal: Journal, tally: Tally, out: Console, err: Console) -> int:
    counts = journal.counts()
    out.print(f"This run: {tally.sent:,} sent, {tally.failed:,} failed"
              f"{f', {tally.bounced:,} marked bounced' if tally.bounced else ''}. Journal: "
              f"{counts.get('sent', 0):,} sent, {counts.get('failed', 0):,} failed, "
              f"{counts.get('deferred', 0) + counts.get('pending', 0):,} to do, "
              f"{counts.get('sending', 0):,} uncertain.")
    resume = f"run 'publisher send {options.issue}' again to resume"
    if tally.error is not None:
        raise PublisherError([*tally.error.problems, Problem("send", f"the run stopped; {resume} "
                                                             "once this is fixed")])
    if tally.paused == "interrupted":
        err.print(f"Stopped: the messages in flight were finished and recorded; {resume}.")
        return INTERRUPTED
    if tally.paused:
        err.print(f"Paused after {tally.paused}. Fix the cause, then {resume}.", markup=False)
        return 1
    if counts.get("failed", 0) and tally.failed:
        err.print(f"{tally.failed:,} recipients failed for good: see 'publisher send "
                  f"{options.issue} --status'.")
        return 1
    return 0
