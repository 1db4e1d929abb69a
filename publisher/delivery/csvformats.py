"""The CSV exports `subscribers import` reads, recognised by their header names.

- publisher's own export: email, name, status, consent_at, consent_method, consent_source, attributes
- Mailchimp audience export: "Email Address", "First Name", "Last Name", OPTIN_TIME, CONFIRM_TIME;
  the unsubscribed and cleaned exports add UNSUB_TIME and CLEAN_TIME
- Substack: email, active_subscription, expiry, email_disabled, created_at (the signups export);
  email, expiry, email_disabled, stripe_connected_customer_id, type (the subscribers export)
- Buttondown: email or email_address, subscriber_type or type, creation_date, notes, tags, metadata
- listmonk: uuid, email, name, attributes (JSON), status (enabled|disabled|blocklisted),
  created_at, updated_at (times as Go writes them: "2023-06-01 10:00:00.5 +0000 UTC")

Only the address, the name, the status, the consent time and listmonk's or our own attributes
are kept; other columns (IP addresses, ratings, payment data) are not stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Row = Mapping[str, str]
EMAIL_HEADERS = ("email", "email address", "email_address", "e-mail", "emailaddress")


@dataclass(frozen=True)
class Entry:
    """One row of an export, as the ledger sees it (address not yet normalised)."""

    email: str
    name: str | None
    status: str | None  # None: the format says nothing; --status or "confirmed" applies
    consent_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Format:
    name: str
    marker: frozenset[str]  # headers (lowercased) that identify it
    read: Callable[[Row, str], Entry]


# Go's time.String(), as listmonk writes it: "2023-06-01 10:00:00.123456789 +0000 UTC"
_GO_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})(?: \w+)?")


def parse_time(value: str | None) -> datetime | None:
    """ISO-8601-ish times as the exports write them; naive ones are taken as UTC."""
    if not value or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    if go := _GO_TIME.fullmatch(text):
        text = go[1] + (go[2] or "")[:7] + go[3]  # Python reads at most microseconds
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _text(row: Row, key: str) -> str:
    return (row.get(key) or "").strip()


def _attributes(value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if value.strip() else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _own(row: Row, email_key: str) -> Entry:
    status = _text(row, "status") or None
    return Entry(row[email_key], _text(row, "name") or None, status,
                 parse_time(row.get("consent_at")), _attributes(row.get("attributes") or ""))


def _mailchimp(row: Row, email_key: str) -> Entry:
    name = " ".join(p for p in (_text(row, "first name"), _text(row, "last name")) if p) or None
    status = "unsubscribed" if _text(row, "unsub_time") else "bounced" if _text(row, "clean_time") else None
    when = parse_time(row.get("confirm_time")) or parse_time(row.get("optin_time"))
    return Entry(row[email_key], name, status, when)


def _substack(row: Row, email_key: str) -> Entry:
    disabled = _text(row, "email_disabled").lower() in ("true", "1", "yes")
    return Entry(row[email_key], None, "unsubscribed" if disabled else None, parse_time(row.get("created_at")))


BUTTONDOWN_STATUS = {
    "unactivated": "unconfirmed", "unsubscribed": "unsubscribed", "removed": "unsubscribed",
    "spammy": "unsubscribed", "undeliverable": "bounced", "complained": "complained",
}


def _buttondown(row: Row, email_key: str) -> Entry:
    kind = _text(row, "subscriber_type") or _text(row, "type")  # the newer exports say "type"
    status = BUTTONDOWN_STATUS.get(kind.lower())
    return Entry(row[email_key], None, status, parse_time(row.get("creation_date")))


LISTMONK_STATUS = {"enabled": None, "disabled": "unsubscribed", "blocklisted": "unsubscribed"}


def _listmonk(row: Row, email_key: str) -> Entry:
    status = LISTMONK_STATUS.get(_text(row, "status").lower())
    return Entry(row[email_key], _text(row, "name") or None, status,
                 parse_time(row.get("created_at")), _attributes(row.get("attributes") or ""))


def _plain(row: Row, email_key: str) -> Entry:
    return Entry(row[email_key], _text(row, "name") or None, None)


FORMATS = (
    Format("publisher", frozenset({"email", "status", "consent_method"}), _own),
    Format("mailchimp", frozenset({"email address", "first name"}), _mailchimp),
    Format("mailchimp", frozenset({"email address", "optin_time"}), _mailchimp),
    Format("substack", frozenset({"email", "email_disabled"}), _substack),
    Format("substack", frozenset({"email", "active_subscription"}), _substack),
    Format("buttondown", frozenset({"subscriber_type"}), _buttondown),
    Format("buttondown", frozenset({"email_address", "creation_date"}), _buttondown),
    Format("listmonk", frozenset({"email", "attributes", "status"}), _listmonk),
    Format("listmonk", frozenset({"email", "name", "attributes"}), _listmonk),
)
PLAIN = Format("plain", frozenset(), _plain)


def detect(headers: list[str]) -> tuple[Format, str] | None:
    """The export's format and its email column (lowercased), or None without an email column."""
    names = set(headers)
    email_key = next((h for h in EMAIL_HEADERS if h in names), None)
    if email_key is None:
        return None
    found = next((f for f in FORMATS if f.marker <= names), PLAIN)
    return found, email_key
