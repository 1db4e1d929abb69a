"""`subscribers bounces FILE`: DSNs (via flufl.bounce) and ARF complaints from .eml, mbox or Maildir.

Hard bounces and complaints change the subscriber's status; soft bounces are counted, and
`soft_bounce_limit` of them in a row count as a hard bounce.
"""

from __future__ import annotations

import email
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from flufl.bounce import all_failures
from sqlalchemy import Engine

from publisher.delivery import ledger
from publisher.delivery.addresses import InvalidAddress, normalise_address
from publisher.errors import Problem, RecordError


@dataclass
class BounceReport:
    messages: int = 0
    hard: list[str] = field(default_factory=list)
    soft: list[tuple[str, str]] = field(default_factory=list)  # address, status after counting
    complaints: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # addresses not in the ledger
    unrecognised: int = 0  # messages that are neither a DSN nor an ARF report


def read_messages(path: Path) -> Iterator[Message]:
    """Every message of a Maildir folder, an mbox file or a single .eml file."""
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise RecordError(Problem(str(path), "a folder that is not a Maildir (no cur/ or new/)",
                                      hint="give a Maildir folder, an mbox file or an .eml file"))
        yield from mailbox.Maildir(path, factory=None, create=False)
        return
    try:
        head = path.open("rb").read(5)
    except OSError as error:
        raise RecordError(Problem(str(path), f"cannot read the file: {error.strerror}")) from error
    if head == b"From ":
        yield from mailbox.mbox(path, create=False)
    else:
        yield email.message_from_bytes(path.read_bytes())


def _address(raw: str) -> str | None:
    value = raw.split(";", 1)[-1].strip().strip("<>")  # "rfc822; a@b.c"
    try:
        return normalise_address(value)
    except InvalidAddress:
        return None


def _headers(part: Message) -> Message:
    """The header block inside a message/* part, however the parser stored it."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    return HeaderParser().parsestr(str(payload))


def _decode(found: frozenset[bytes]) -> set[str]:
    return {a for a in (_address(b.decode("utf-8", "replace")) for b in found) if a}


def complaint_of(message: Message) -> str | None:
    """The complaining recipient of an ARF (RFC 5965) report, or None."""
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _headers(part)
        if found := fields.get("Original-Rcpt-To"):
            return _address(str(found))
        for original in message.walk():
            if original.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
                return _address(str(_headers(original).get("To", "")))
    return None


def scan(message: Message) -> tuple[set[str], set[str], str | None]:
    """(soft-failed, hard-failed, complaining) addresses of one message."""
    complaint = complaint_of(message)
    if complaint:
        return set(), set(), complaint
    soft, hard = all_failures(message)
    return _decode(soft), _decode(hard), None


def process_bounces(engine: Engine, path: Path, soft_limit: int) -> BounceReport:
    """Read every message and change the ledger; returns what was found."""
    report = BounceReport()
    for message in read_messages(path):
        report.messages += 1
        soft, hard, complaint = scan(message)
        if not (soft or hard or complaint):
            report.unrecognised += 1
        if complaint:
            _complain(engine, complaint, report)
        for address in sorted(hard):
            (report.hard if ledger.mark_bounced(engine, address, f"hard bounce ({path.name})")
             else report.unknown).append(address)
        for address in sorted(soft - hard):
            status = ledger.soft_bounce(engine, address, f"soft bounce ({path.name})", soft_limit)
            if status is None:
                report.unknown.append(address)
            else:
                report.soft.append((address, status))
    return report


def _complain(engine: Engine, address: str, report: BounceReport) -> None:
    with engine.begin() as connection:
        row = ledger.find(connection, address)
        if row is None:
            report.unknown.append(address)
            return
        ledger.set_status(connection, row, "complained", "complained", detail="ARF abuse report")
        report.complaints.append(address)
