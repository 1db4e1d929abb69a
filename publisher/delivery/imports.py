"""`subscribers import`: read an export, plan every row, apply the plan in one transaction.

A re-import never turns an unsubscribed, bounced or complained person into a confirmed one, and
never brings back someone who was forgotten (their salted hash is in `suppressions`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    bindparam,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from publisher.delivery.addresses import InvalidAddress, normalise_address
from publisher.delivery.csvformats import EMAIL_HEADERS, Entry, Format, detect
from publisher.delivery.ledger import email_hash, salt, utcnow
from publisher.delivery.schema import (
    STATUSES,
    SUPPRESSED_STATUSES,
    events,
    subscribers,
    suppressions,
)
from publisher.errors import Problem, RecordError
from publisher.records import one_line

ENCODINGS = "UTF-8, with or without a byte-order mark"


@dataclass
class ImportReport:
    format: str = ""
    added: list[str] = field(default_factory=list)
    updated: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # line, address, reason


@dataclass
class Plan:
    report: ImportReport
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


def read_rows(path: Path) -> tuple[Format, Iterator[tuple[int, Entry]]]:
    """The export's format and its rows (line, entry); a malformed file raises RecordError."""
    label = str(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RecordError(Problem(label, f"cannot read the file: {error.strerror}")) from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RecordError(Problem(label, f"not UTF-8 (byte {error.start}): publisher reads {ENCODINGS}", line=line,
                                  hint="export it again as UTF-8, or convert it, e.g. iconv -f latin1 -t utf-8")) from error
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as error:
        raise RecordError(Problem(label, f"malformed CSV header: {error}", line=1)) from error
    found = detect(header)
    if found is None:
        accepted = ", ".join(f'"{h}"' for h in EMAIL_HEADERS)
        raise RecordError(Problem(label, f"no email column among {header[:12]}", line=1,
                                  hint=f"name the column with the addresses one of {accepted}"))
    fmt, email_key = found
    return fmt, _entries(label, reader, header, fmt, email_key)


def _entries(label: str, reader: Any, header: list[str], fmt: Format, email_key: str) -> Iterator[tuple[int, Entry]]:
    line = 1
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                line = reader.line_num
                continue
            for name, value in zip(header, values, strict=False):
                if "\n" in value or "\r" in value:
                    raise RecordError(Problem(label, "a quoted line break inside a field", line=line + 1,
                                              field=name, hint="remove the line break from that field"))
            line = reader.line_num
            yield line, fmt.read(dict(zip(header, values, strict=False)), email_key)
    except csv.Error as error:
        raise RecordError(Problem(label, f"malformed CSV: {error}", line=reader.line_num)) from error


def plan_import(connection: Connection, rows: Iterator[tuple[int, Entry]], status: str | None,
                source: str, fmt: str) -> Plan:
    """Decide, row by row, what the import does; nothing is written here."""
    plan = Plan(ImportReport(fmt))
    known = {r.email: r for r in connection.execute(
        select(subscribers.c.id, subscribers.c.email, subscribers.c.name, subscribers.c.status))}
    suppressed = set(connection.scalars(select(suppressions.c.email_hash)))
    salt_bytes = salt(connection) if suppressed else b""
    seen: set[str] = set()
    now = utcnow()
    for line, entry in rows:
        try:
            email = normalise_address(entry.email)
        except InvalidAddress as why:
            plan.report.skipped.append((line, entry.email.strip()[:80], f"invalid address: {why}"))
            continue
        wanted = status or entry.status or "confirmed"
        if wanted not in STATUSES:
            plan.report.skipped.append((line, email, f"unknown status '{wanted}'"))
        elif email in seen:
            plan.report.skipped.append((line, email, "duplicate: earlier in this file"))
        elif suppressed and email_hash(salt_bytes, email) in suppressed:
            plan.report.skipped.append((line, email, "suppressed: forgotten at their request"))
        elif (row := known.get(email)) is not None:
            _plan_existing(plan, line, row, entry, wanted, now)
        else:
            plan.inserts.append(_new_row(email, entry, wanted))
            plan.report.added.append(email)
        seen.add(email)
    return plan


def _plan_existing(plan: Plan, line: int, row: Any, entry: Entry, wanted: str, now: datetime) -> None:
    if row.status in SUPPRESSED_STATUSES:
        reason = f"{row.status}: only the person can subscribe again, through the form"
        plan.report.skipped.append((line, row.email, reason))
        return
    # an import may record an opt-out, or confirm someone still unconfirmed; never the reverse
    new_status = wanted if (wanted in SUPPRESSED_STATUSES or row.status == "unconfirmed") else row.status
    name = one_line(entry.name)[:200] if entry.name else ""
    new_name = name if name and name != row.name else row.name
    if new_status == row.status and new_name == row.name:
        plan.report.skipped.append((line, row.email, "duplicate: already in the ledger"))
        return
    changes = ", ".join(c for c in (f"status {row.status} -> {new_status}" if new_status != row.status else "",
                                    "name" if new_name != row.name else "") if c)
    plan.updates.append({"b_id": row.id, "b_status": new_status, "b_name": new_name, "b_now": now,
                         "b_confirmed": now if new_status == "confirmed" and row.status != "confirmed" else None,
                         "b_detail": changes})
    plan.report.updated.append((row.email, changes))


def _new_row(email: str, entry: Entry, status: str) -> dict[str, Any]:
    name = one_line(entry.name)[:200] or None if entry.name else None  # a name may reach a To header
    return {"email": email, "name": name, "status": status, "consent_at": entry.consent_at,
            "attributes": entry.attributes}


def apply_plan(connection: Connection, plan: Plan, source: str) -> None:
    """Write the plan: bulk inserts and updates, and one event per change."""
    if plan.inserts:
        before = connection.scalar(select(func.coalesce(func.max(subscribers.c.id), 0)))
        plain = [r for r in plan.inserts if not r["attributes"]]
        if plain:
            connection.execute(_insert_statement(source, with_attributes=False), plain)
        if len(plain) < len(plan.inserts):
            rich = [r for r in plan.inserts if r["attributes"]]
            connection.execute(_insert_statement(source, with_attributes=True), rich)
        fresh = (subscribers.c.id > before) & (subscribers.c.consent_source == source)
        connection.execute(update(subscribers).where(fresh, subscribers.c.status == "confirmed")
                           .values(confirmed_at=subscribers.c.consent_at))
        # the events of the new rows in one INSERT ... SELECT: no id round trip per row
        new_rows = select(subscribers.c.id, func.current_timestamp(), literal("added"), subscribers.c.status,
                          literal("import"), subscribers.c.consent_source).where(fresh)
        columns = ["subscriber_id", "at", "kind", "status", "method", "source"]
        connection.execute(insert(events).from_select(columns, new_rows))
    if plan.updates:
        now = utcnow()
        connection.execute(_update_statement(), plan.updates)
        connection.execute(insert(events), [
            {"subscriber_id": u["b_id"], "at": now, "kind": "updated", "status": u["b_status"],
             "method": "import", "source": source, "detail": u["b_detail"]} for u in plan.updates])


def _insert_statement(source: str, with_attributes: bool) -> Any:
    """Per row only the address, name, status, consent time (and attributes); the rest is SQL.

    Binding fewer values per row is what makes 100,000 rows fit in a few seconds.
    """
    now = func.current_timestamp()
    consent = func.coalesce(bindparam("consent_at", type_=DateTime(timezone=True)), now)
    values: dict[str, Any] = {
        "created_at": now, "updated_at": now, "consent_at": consent,
        "consent_method": literal("import"), "consent_source": literal(source[:500]),
        "soft_bounces": literal(0),
    }
    if not with_attributes:
        values["attributes"] = literal_column("'{}'")
    return insert(subscribers).values(values)


def _update_statement() -> Any:
    confirmed = bindparam("b_confirmed", type_=DateTime(timezone=True))
    return (update(subscribers).where(subscribers.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), name=bindparam("b_name"), updated_at=bindparam("b_now"),
                    confirmed_at=func.coalesce(confirmed, subscribers.c.confirmed_at)))


def import_file(engine: Engine, path: Path, status: str | None = None, dry_run: bool = False) -> ImportReport:
    """Import one export, all or nothing; with dry_run, report and write nothing."""
    fmt, rows = read_rows(path)
    with engine.begin() as connection:
        source = f"{path.name} ({fmt.name} export)"
        plan = plan_import(connection, rows, status, source, fmt.name)
        if not dry_run:
            apply_plan(connection, plan, source)
    return plan.report
