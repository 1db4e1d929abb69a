"""The ledger's operations: every status change is one transaction with its event.

Suppression: `forget` deletes the person and their events and keeps only
HMAC-SHA256(ledger salt, address). The salt is generated per ledger (table ledger_meta) rather
than derived from PUBLISHER_SECRET, so the CLI works without the secret and rotating the secret
never lets a forgotten person be imported again.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, delete, func, insert, select, update

from publisher.delivery.schema import (
    SUPPRESSED_STATUSES,
    Recipient,
    events,
    ledger_meta,
    subscribers,
    suppressions,
)
from publisher.records import one_line

# Statements built once: building one costs more than running it on SQLite.
_LOG = insert(events)
_BY_EMAIL = select(subscribers).where(subscribers.c.email == bindparam("b_email"))
_BY_ID = select(subscribers).where(subscribers.c.id == bindparam("b_id"))


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Consent:
    """How a person agreed: method import|form|cli, and the file, form or command."""

    method: str
    source: str


def salt(connection: Connection) -> bytes:
    value = connection.scalar(select(ledger_meta.c.value).where(ledger_meta.c.key == "suppression_salt"))
    return bytes.fromhex(str(value))


def email_hash(salt_bytes: bytes, email: str) -> str:
    return hmac.new(salt_bytes, email.encode(), hashlib.sha256).hexdigest()


def is_suppressed(connection: Connection, email: str) -> bool:
    digest = email_hash(salt(connection), email)
    found = connection.scalar(select(func.count()).where(suppressions.c.email_hash == digest))
    return bool(found)


def log(connection: Connection, subscriber_id: int, kind: str, status: str | None = None,
        consent: Consent | None = None, detail: str | None = None) -> None:
    connection.execute(_LOG, {
        "subscriber_id": subscriber_id, "at": utcnow(), "kind": kind, "status": status,
        "method": consent.method if consent else None, "source": consent.source if consent else None,
        "detail": detail,
    })


def find(connection: Connection, email: str) -> Row[Any] | None:
    return connection.execute(_BY_EMAIL, {"b_email": email}).first()


def by_id(connection: Connection, subscriber_id: int) -> Row[Any] | None:
    return connection.execute(_BY_ID, {"b_id": subscriber_id}).first()


def consent_values(consent: Consent, when: datetime) -> dict[str, Any]:
    return {"consent_at": when, "consent_method": consent.method, "consent_source": consent.source}


def create(connection: Connection, email: str, name: str | None, status: str, consent: Consent,
           attributes: Mapping[str, Any] | None = None) -> int:
    """Insert one subscriber and its 'added' event; returns the id."""
    when = utcnow()
    name = one_line(name)[:200] or None if name else None  # it may become part of a To header
    values = {"email": email, "name": name, "status": status, "created_at": when, "updated_at": when,
              "confirmed_at": when if status == "confirmed" else None, "soft_bounces": 0,
              "attributes": dict(attributes or {}), **consent_values(consent, when)}
    key = connection.execute(insert(subscribers).values(values)).inserted_primary_key
    subscriber_id = int(key[0]) if key else 0
    log(connection, subscriber_id, "added", status, consent)
    return subscriber_id


def set_status(connection: Connection, row: Row[Any], status: str, kind: str,
               consent: Consent | None = None, detail: str | None = None) -> bool:
    """Change a subscriber's status and log it; False when it already had that status."""
    if row.status == status and kind != "confirmed":
        return False
    when = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": when}
    if status == "confirmed":
        values.update(confirmed_at=when, soft_bounces=0)
    if consent is not None:
        values.update(consent_values(consent, when))
    connection.execute(update(subscribers).where(subscribers.c.id == row.id).values(values))
    log(connection, row.id, kind, status, consent, detail)
    return True


def confirmed_subscribers(engine: Engine) -> list[Recipient]:
    """Everyone who may be sent an issue, in id order."""
    query = (select(subscribers.c.id, subscribers.c.email, subscribers.c.name, subscribers.c.confirmed_at)
             .where(subscribers.c.status == "confirmed").order_by(subscribers.c.id))
    with engine.connect() as connection:
        return [Recipient(r.id, r.email, r.name, as_utc(r.confirmed_at or utcnow()))
                for r in connection.execute(query)]


def mark_bounced(engine: Engine, email: str, reason: str) -> bool:
    """A hard bounce (e.g. SMTP 550 user unknown): status 'bounced'. False if nobody has the address."""
    with engine.begin() as connection:
        row = find(connection, email)
        if row is None:
            return False
        set_status(connection, row, "bounced", "bounced", detail=reason[:500])
        return True


def soft_bounce(engine: Engine, email: str, reason: str, limit: int) -> str | None:
    """Count a soft bounce; the limit-th in a row makes it a hard one. Returns the new status."""
    with engine.begin() as connection:
        row = find(connection, email)
        if row is None or row.status in SUPPRESSED_STATUSES:
            return None
        count = row.soft_bounces + 1
        connection.execute(update(subscribers).where(subscribers.c.id == row.id)
                           .values(soft_bounces=count, updated_at=utcnow()))
        log(connection, row.id, "soft_bounce", row.status, detail=f"{count} in a row: {reason}"[:500])
        if count >= limit:
            set_status(connection, row, "bounced", "bounced", detail=f"{count} soft bounces in a row")
            return "bounced"
        return str(row.status)


def clear_soft_bounces(engine: Engine, email: str) -> None:
    """A delivery went through: the soft bounces before it no longer count as 'in a row'."""
    with engine.begin() as connection:
        connection.execute(update(subscribers).where(subscribers.c.email == email).values(soft_bounces=0))


def unsubscribe(connection: Connection, row: Row[Any], source: str) -> bool:
    """Unsubscribe (from a link, the CLI or an import); False when already suppressed."""
    if row.status in SUPPRESSED_STATUSES:
        return False
    return set_status(connection, row, "unsubscribed", "unsubscribed", detail=source)


def forget(engine: Engine, email: str) -> int | None:
    """Erase a person and their history; keep only the salted hash that stops a re-import.

    Returns the id they had, or None when they were not in the ledger (suppressed all the same).
    """
    with engine.begin() as connection:
        row = find(connection, email)
        digest = email_hash(salt(connection), email)
        if not connection.scalar(select(func.count()).where(suppressions.c.email_hash == digest)):
            connection.execute(insert(suppressions).values(email_hash=digest, reason="forgotten", at=utcnow()))
        if row is None:
            return None
        connection.execute(delete(events).where(events.c.subscriber_id == row.id))
        connection.execute(delete(subscribers).where(subscribers.c.id == row.id))
        return int(row.id)


def lift_suppression(connection: Connection, email: str) -> None:
    """The person opted in again through the form: the suppression has done its work."""
    connection.execute(delete(suppressions).where(suppressions.c.email_hash == email_hash(salt(connection), email)))


def history(engine: Engine, email: str) -> tuple[Row[Any] | None, list[Row[Any]]]:
    with engine.connect() as connection:
        row = find(connection, email)
        if row is None:
            return None, []
        query = select(events).where(events.c.subscriber_id == row.id).order_by(events.c.id)
        return row, list(connection.execute(query))


def rows(engine: Engine, statuses: tuple[str, ...] = ()) -> Iterator[Row[Any]]:
    query = select(subscribers).order_by(subscribers.c.id)
    if statuses:
        query = query.where(subscribers.c.status.in_(statuses))
    with engine.connect() as connection:
        yield from connection.execute(query)


def counts(engine: Engine) -> dict[str, int]:
    query = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
    with engine.connect() as connection:
        return {status: int(n) for status, n in connection.execute(query)}


def subscribe_request(engine: Engine, email: str, name: str | None, source: str) -> int | None:
    """The form: create or keep an unconfirmed subscriber; the id to confirm, or None if confirmed already.

    Nobody's status changes here: an unsubscribed person stays so until they confirm.
    """
    with engine.begin() as connection:
        row = find(connection, email)
        if row is None:
            return create(connection, email, name, "unconfirmed", Consent("form", source))
        if row.status == "confirmed":
            return None
        log(connection, row.id, "subscribe_request", row.status, Consent("form", source))
        return int(row.id)


def confirm(engine: Engine, subscriber_id: int, source: str) -> bool:
    """The person confirmed through the form: consent recorded, any suppression lifted."""
    with engine.begin() as connection:
        row = by_id(connection, subscriber_id)
        if row is None:
            return False
        if row.status != "confirmed":
            set_status(connection, row, "confirmed", "confirmed", Consent("form", source))
            lift_suppression(connection, row.email)
        return True


_UNSUBSCRIBE = (
    update(subscribers)
    .where(subscribers.c.id == bindparam("b_id"), subscribers.c.status.not_in(SUPPRESSED_STATUSES))
    .values(status="unsubscribed", updated_at=bindparam("b_now"))
)


def unsubscribe_id(engine: Engine, subscriber_id: int, source: str) -> bool:
    """An unsubscribe link was used; False when there was nothing to change.

    One conditional UPDATE, then the event.
    """
    now = utcnow()
    with engine.begin() as connection:
        changed = connection.execute(_UNSUBSCRIBE, {"b_id": subscriber_id, "b_now": now}).rowcount
        if changed:
            connection.execute(_LOG, {"subscriber_id": subscriber_id, "at": now, "kind": "unsubscribed",
                                      "status": "unsubscribed", "method": None, "source": None,
                                      "detail": source})
        return bool(changed)
