"""The one interface every transport implements, and what an answer means for the journal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from publisher.errors import PublisherError

Kind = Literal["accepted", "deferred", "failed"]
# 550 5.1.1 and its wordings: the mailbox does not exist, so the address is dead for good.
USER_UNKNOWN = re.compile(
    r"\b5\.1\.[0-3]\b|user unknown|unknown user|no such (user|mailbox|recipient)|"
    r"mailbox (not found|does not exist)|address does not exist|invalid recipient",
    re.I,
)


class TransportError(PublisherError):
    """The transport cannot work at all (refused connection, AUTH, TLS, credentials)."""


@dataclass(frozen=True)
class Outcome:
    """A server's answer to one message.

    accepted: it took the message (answer: its reply, e.g. the queue id or SES MessageId).
    deferred: try again later; throttle=True when the whole pace must slow down (421, 454, a
    dropped connection, an ESP's throttling error), never counted as sent.
    failed: permanent; bounced=True when the mailbox does not exist (the ledger marks it)."""

    kind: Kind
    answer: str
    throttle: bool = False
    bounced: bool = False

    @property
    def accepted(self) -> bool:
        return self.kind == "accepted"


def smtp_outcome(code: int, text: str) -> Outcome:
    """Classify an SMTP reply code (RFC 5321 §4.2.1) and its text."""
    answer = f"{code} {' '.join(text.split())}"
    if 200 <= code < 300:
        return Outcome("accepted", answer)
    if code in (421, 454) or (code == 451 and "rate" in text.lower()):
        return Outcome("deferred", answer, throttle=True)
    if 400 <= code < 500:
        return Outcome("deferred", answer)
    return Outcome("failed", answer, bounced=code in (550, 551, 553) and bool(USER_UNKNOWN.search(text)))


class Transport(Protocol):
    """Open once (fails fast on a wrong host, TLS or credentials), send many, close."""

    name: str
    # At most this many messages per second (the ESP's quota), or None for no limit.
    max_rate: float | None

    async def open(self) -> None: ...

    async def send(self, envelope_from: str, recipient: str, message: bytes) -> Outcome: ...

    async def close(self) -> None: ...
