"""`publisher subscribers …`: the ledger from the command line."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from publisher.delivery.addresses import InvalidAddress, display_domain, normalise_address
from publisher.delivery.statuses import STATUSES
from publisher.errors import Problem, UsageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from publisher.delivery.ledger import Consent
    from publisher.delivery.settings import SubscribersSettings

# SQLAlchemy and the ledger load inside the commands: other commands start faster without them.

subscribers_app = typer.Typer(
    help="The subscriber ledger: add, import, export, list, unsubscribe, forget, bounces.",
    no_args_is_help=True, rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
Root = Annotated[Path, typer.Option("--root", "-C", help="The workspace folder.", show_default=False)]
Email = Annotated[str, typer.Argument(help="The email address.", show_default=False)]
Status = Annotated[list[str] | None, typer.Option("--status", help=f"Only this status ({', '.join(STATUSES)}); repeat it.")]
CLI_SOURCE = "publisher subscribers (command line)"
EXPORT_COLUMNS = ("email", "name", "status", "created_at", "confirmed_at", "consent_at",
                  "consent_method", "consent_source", "attributes")


def open_workspace_ledger(root: Path) -> tuple[Engine, SubscribersSettings]:
    """The workspace's ledger and its settings."""
    from publisher.delivery.db import open_ledger
    from publisher.workspace import load_config

    settings = load_config(root).subscribers
    return open_ledger(root, settings), settings


def cli_consent() -> Consent:
    from publisher.delivery.ledger import Consent

    return Consent("cli", CLI_SOURCE)


def address(value: str) -> str:
    try:
        return normalise_address(value)
    except InvalidAddress as why:
        raise UsageError(Problem("EMAIL", f"{value.strip()[:80]!r} is not a usable address: {why}",
                                 hint="give one plain address, like ana@example.org")) from why


def statuses(values: list[str] | None) -> tuple[str, ...]:
    for value in values or ():
        if value not in STATUSES:
            raise UsageError(Problem("--status", f"unknown status '{value}'", hint=f"one of {', '.join(STATUSES)}"))
    return tuple(values or ())


@subscribers_app.command()
def add(email: Email, name: Annotated[str | None, typer.Option(help="Their name.")] = None,
        confirmed: Annotated[bool, typer.Option(help="They have confirmed already (you hold the evidence).")] = False,
        root: Root = Path(".")) -> None:
    """Add one subscriber (unconfirmed unless --confirmed).

    Example: publisher subscribers add ana@example.org --name "Ana Lima" --confirmed
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    target, engine = address(email), open_workspace_ledger(root)[0]
    with guarded(engine), engine.begin() as connection:
        if ledger.is_suppressed(connection, target):
            raise UsageError(Problem(target, "was forgotten at their request",
                                     hint="only they can subscribe again, through the form"))
        row = ledger.find(connection, target)
        if row is not None:
            raise UsageError(Problem(target, f"is in the ledger already ({row.status})",
                                     hint="see 'publisher subscribers history EMAIL'"))
        subscriber_id = ledger.create(connection, target, (name or "").strip() or None,
                                      "confirmed" if confirmed else "unconfirmed", cli_consent())
    out.print(f"added {target} ({'confirmed' if confirmed else 'unconfirmed'})", markup=False)
    if not confirmed:
        out.print(ask_to_confirm(root, subscriber_id, target, (name or "").strip() or None), markup=False)


def ask_to_confirm(root: Path, subscriber_id: int, email: str, name: str | None) -> str:
    """Write the confirmation message to the outbox, when the endpoint and the secret are known."""
    import os

    from publisher.delivery import tokens
    from publisher.delivery.outbox import queue_confirmation
    from publisher.theme import make_environment
    from publisher.workspace import load_config

    config = load_config(root)
    if not config.subscribers.endpoint or not os.environ.get(tokens.SECRET_VARIABLE):
        return "no confirmation message: set [subscribers] endpoint and PUBLISHER_SECRET to write one"
    path = queue_confirmation(root, config, make_environment(root / config.build.templates),
                              config.subscribers.endpoint, tokens.secret_from_env(), subscriber_id, email, name)
    return f"confirmation message: {path}"


@subscribers_app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="A CSV export (publisher, Mailchimp, Substack, Buttondown, listmonk).")],
            status: Annotated[str | None, typer.Option(help="Give every row this status, whatever the file says.")] = None,
            dry_run: Annotated[bool, typer.Option(help="Report what would change; change nothing.")] = False,
            root: Root = Path(".")) -> None:
    """Import an export in one transaction; never resubscribes the unsubscribed or the forgotten.

    Example: publisher subscribers import members.csv --status confirmed --dry-run
    """
    from publisher.delivery.db import guarded
    from publisher.delivery.imports import import_file

    statuses([status] if status else None)
    engine = open_workspace_ledger(root)[0]
    with guarded(engine):
        report = import_file(engine, file, status, dry_run)
    verb = "would be " if dry_run else ""
    lines = [f"{file} ({report.format} export): {len(report.added)} {verb}added, "
             f"{len(report.updated)} {verb}updated, {len(report.skipped)} skipped"]
    reasons = Counter(reason.split(":", 1)[0] for _, _, reason in report.skipped)
    if reasons:
        lines.append("skipped: " + ", ".join(f"{n} {why}" for why, n in reasons.most_common()))
    lines += [f"  ~ {email}: {what}" for email, what in report.updated]
    lines += [f"  - line {line}: {email}: {reason}" for line, email, reason in report.skipped]
    out.print("\n".join(lines), markup=False)


def cell(value: object) -> str:
    """A CSV cell: times in UTC ISO 8601, None empty."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat(timespec="seconds")
    return "" if value is None else str(value)


@subscribers_app.command()
def export(out_file: Annotated[Path | None, typer.Option("--out", help="Write here (a new file); default: standard output.")] = None,
           status: Status = None, root: Root = Path(".")) -> None:
    """Export the ledger as CSV, in the form `import` reads back.

    Example: publisher subscribers export --out private/backup.csv --status confirmed
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    wanted, engine = statuses(status), open_workspace_ledger(root)[0]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    with guarded(engine):
        for row in ledger.rows(engine, wanted):
            values = [getattr(row, c) for c in EXPORT_COLUMNS[:-1]]
            writer.writerow([*map(cell, values), json.dumps(row.attributes or {}, ensure_ascii=False)])
    if out_file is None:
        sys.stdout.write(buffer.getvalue())
        return
    try:
        with out_file.open("x", encoding="utf-8", newline="") as handle:  # never overwrite a file
            handle.write(buffer.getvalue())
    except FileExistsError as error:
        raise UsageError(Problem(str(out_file), "exists already", hint="choose a new file name")) from error
    out.print(f"wrote {out_file}", markup=False)


@subscribers_app.command("list")
def list_(status: Status = None, root: Root = Path(".")) -> None:
    """List subscribers: id, status, address, name.

    Example: publisher subscribers list --status confirmed
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    wanted, engine = statuses(status), open_workspace_ledger(root)[0]
    with guarded(engine):
        lines = [f"{r.id:>7}  {r.status:<12} {display_domain(r.email)}" + (f"  ({r.name})" if r.name else "")
                 for r in ledger.rows(engine, wanted)]
    out.print("\n".join([*lines, f"{len(lines)} subscribers"]), markup=False)


@subscribers_app.command()
def count(root: Root = Path(".")) -> None:
    """How many subscribers have each status.

    Example: publisher subscribers count
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    engine = open_workspace_ledger(root)[0]
    with guarded(engine):
        found = ledger.counts(engine)
    for status in STATUSES:
        out.print(f"{status:<13} {found.get(status, 0):>8}", markup=False)
    out.print(f"{'total':<13} {sum(found.values()):>8}", markup=False)


@subscribers_app.command()
def unsubscribe(email: Email, root: Root = Path(".")) -> None:
    """Unsubscribe an address, for instance when they ask by mail.

    Example: publisher subscribers unsubscribe ana@example.org
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    target, engine = address(email), open_workspace_ledger(root)[0]
    with guarded(engine), engine.begin() as connection:
        row = ledger.find(connection, target)
        if row is None:
            raise UsageError(Problem(target, "is not in the ledger"))
        changed = ledger.unsubscribe(connection, row, CLI_SOURCE)
    out.print(f"{target}: {'unsubscribed' if changed else f'already {row.status}'}", markup=False)


@subscribers_app.command()
def forget(email: Email, root: Root = Path(".")) -> None:
    """Erase a person (GDPR); a salted hash stops any import from bringing them back.

    Example: publisher subscribers forget ana@example.org
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    target, (engine, settings) = address(email), open_workspace_ledger(root)
    with guarded(engine):
        erased = ledger.forget(engine, target)
    if erased is None:
        out.print(f"{target}: was not in the ledger; suppressed from now on", markup=False)
        return
    # their confirmation messages waiting in the outbox hold the address too (named <time>-<id>-<random>.eml)
    waiting = list((root / settings.outbox).glob(f"*-{erased}-*.eml"))
    for message in waiting:
        message.unlink()
    removed = f", {len(waiting)} waiting message(s) removed from the outbox" if waiting else ""
    out.print(f"{target}: erased; a salted hash keeps them from being imported again{removed}", markup=False)


@subscribers_app.command()
def history(email: Email, root: Root = Path(".")) -> None:
    """Show a subscriber's record and every change of their consent.

    Example: publisher subscribers history ana@example.org
    """
    from publisher.delivery import ledger
    from publisher.delivery.db import guarded

    target, engine = address(email), open_workspace_ledger(root)[0]
    with guarded(engine):
        row, events = ledger.history(engine, target)
        suppressed = row is None and _suppressed(engine, target)
    if row is None:
        raise UsageError(Problem(target, "was forgotten (only a salted hash remains)" if suppressed else "is not in the ledger"))
    lines = [f"{display_domain(row.email)}  status {row.status}" + (f", name {row.name}" if row.name else ""),
             f"consent: {row.consent_method} from {row.consent_source} at {cell(row.consent_at)}"]
    for e in events:
        via = f" via {e.method} ({e.source})" if e.method else (f" ({e.source})" if e.source else "")
        lines.append(f"  {cell(e.at)}  {e.kind:<12} {e.status or ''}{via}{': ' + e.detail if e.detail else ''}")
    out.print("\n".join(lines), markup=False)


def _suppressed(engine: Engine, email: str) -> bool:
    from publisher.delivery import ledger

    with engine.connect() as connection:
        return ledger.is_suppressed(connection, email)


@subscribers_app.command()
def bounces(file: Annotated[Path, typer.Argument(help="An .eml file, an mbox file or a Maildir folder.")],
            root: Root = Path(".")) -> None:
    """Read bounce (DSN) and complaint (ARF) messages and update the ledger.

    Example: publisher subscribers bounces ~/Maildir/.Bounces
    """
    from publisher.delivery.bounces import process_bounces
    from publisher.delivery.db import guarded

    engine, settings = open_workspace_ledger(root)
    with guarded(engine):
        report = process_bounces(engine, file, settings.soft_bounce_limit)
    lines = [f"{file}: {report.messages} messages, {len(report.hard)} hard bounces, {len(report.soft)} soft, "
             f"{len(report.complaints)} complaints, {report.unrecognised} not a bounce or complaint"]
    lines += [f"  bounced     {a}" for a in report.hard]
    lines += [f"  soft bounce {a} (now {s})" for a, s in report.soft]
    lines += [f"  complained  {a}" for a in report.complaints]
    lines += [f"  not in the ledger or already suppressed: {a}" for a in report.unknown]
    out.print("\n".join(lines), markup=False)

