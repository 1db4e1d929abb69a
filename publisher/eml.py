"""The ready-to-send message: RFC 5322 multipart/alternative with list headers (RFC 2369, 8058)."""

from __future__ import annotations

import binascii
import hashlib
import re
from datetime import datetime, time
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.policy import SMTP, default
from email.utils import format_datetime, formataddr
from functools import lru_cache
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from publisher.config import Config
from publisher.errors import BuildError, Problem
from publisher.records import Issue
from publisher.selection import IssueView

NEWLINE = re.compile(r"\r\n|\r|\n")  # what the generator writes as CRLF
SEND_TIME = time(8, 0)  # issues go out at 08:00 in the newsletter's timezone
SUBJECT_FIELDS = "{newsletter}, {number}, {title}, {date} and {id}"


def subject_problem(message: str, hint: str) -> Problem:
    return Problem("config.toml", message, "[email]", "subject", hint)


def subject_for(config: Config, issue: Issue, number: int) -> str:
    """The Subject header from [email] subject; never more than one line."""
    try:
        subject = config.email.subject.format(
            newsletter=config.newsletter.title,
            number=number,
            title=issue.title,
            date=issue.date.isoformat(),
            id=issue.id,
        )
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise BuildError(
            subject_problem(f"the subject pattern cannot be filled: {exc!r}", f"use only {SUBJECT_FIELDS}")
        ) from exc
    if any(c in subject for c in "\r\n\x0b\x0c\x85\u2028\u2029"):
        raise BuildError(
            subject_problem(
                f"the subject pattern yields a line break for issue '{issue.id}'",
                "remove the newline from [email] subject or [newsletter] title",
            )
        )
    return subject.strip()


def mail_domain(config: Config) -> str:
    return urlsplit(config.newsletter.url).hostname or "localhost"


def message_id(view: IssueView) -> str:
    """Stable per issue: rebuilding an issue never changes its Message-ID."""
    digest = hashlib.sha256(view.web_url.encode()).hexdigest()[:16]
    return f"<issue-{view.issue.id}.{digest}@{mail_domain(view.config)}>"


def list_id(config: Config) -> str:
    return config.email.list_id or f"newsletter.{mail_domain(config)}"


def send_date(view: IssueView) -> str:
    """The issue's own date, so the message is deterministic."""
    zone = ZoneInfo(view.config.newsletter.timezone)
    return format_datetime(datetime.combine(view.issue.date, SEND_TIME, tzinfo=zone))


def unsubscribe_header(config: Config) -> str:
    """RFC 2369 targets built only from validated parts: one address (config checked it with
    the stdlib parser) percent-encoded into a mailto URI, and an https URL."""
    targets = []
    if address := config.email.unsubscribe_mailto:
        targets.append(f"<mailto:{quote(address, safe='@')}?subject=unsubscribe>")
    url = config.email.unsubscribe_url
    if url and url.startswith("https://") and not any(c in url for c in "<>, "):
        targets.append(f"<{url}>")
    return ", ".join(targets)


def build_eml(view: IssueView, text: str, html: str) -> bytes:
    """multipart/alternative: the plain text first, the HTML last (the preferred one).

    Byte for byte what the email package's generator writes (stdlib_eml, the reference the
    tests compare with): each header folded by the same header objects and policy, CRLF line
    ends, no preamble or epilogue. The headers that only the config decides are folded and
    read back once per config, not once per issue; the parts are assembled here (the
    generator wrote them one line at a time)."""
    cfg = view.config
    boundary = f"=_{_digest(text, html)}"
    addresses, lists = _config_headers(cfg)
    head = b"".join((
        folded("Subject", subject_for(cfg, view.issue, view.number)), addresses,
        folded("Date", send_date(view)), folded("Message-ID", message_id(view)), lists,
        folded("Content-Type", f'multipart/alternative; boundary="{boundary}"'), b"\r\n",
    ))
    mark = f"--{boundary}".encode()
    return b"".join((head, mark, b"\r\n", _qp_part(text, "plain"), b"\r\n", mark, b"\r\n",
                     _qp_part(html, "html"), b"\r\n", mark, b"--\r\n"))


def _digest(text: str, html: str) -> str:
    """The boundary's: deterministic, so an unchanged issue gives identical bytes."""
    return hashlib.sha256((text + html).encode()).hexdigest()[:24]


def folded(name: str, value: str | Address) -> bytes:
    """One header line as the generator writes it: the header object msg[name] = value
    would hold, folded by policy SMTP."""
    return bytes(SMTP.fold_binary(name, default.header_factory(name, value)))


def _config_headers(cfg: Config) -> tuple[bytes, bytes]:
    """From/Reply-To/To, and List-*/MIME-Version: the same for every issue of a config."""
    return _address_block(tuple(address_headers(cfg).items())), _list_block(tuple(list_headers(cfg)))


@lru_cache(maxsize=16)
def _list_block(headers: tuple[tuple[str, str], ...]) -> bytes:
    return b"".join(folded(name, value) for name, value in headers)


@lru_cache(maxsize=16)
def _address_block(headers: tuple[tuple[str, tuple[str, str, str]], ...]) -> bytes:
    """The address headers, read back once as a mail client would (verify_addresses). The
    other headers cannot add an address header: no value holds a line break (subject_for
    refuses one) and a folded line always starts with white space."""
    block = b"".join(folded(name, header_address(*spec)) for name, spec in headers)
    verify_addresses(block + b"\r\n", dict(headers))
    return block


def list_headers(cfg: Config) -> list[tuple[str, str]]:
    """The headers after Message-ID, up to Content-Type, in the message's order."""
    headers = [("List-Id", formataddr((cfg.newsletter.title, list_id(cfg)))),
               ("List-Archive", f"<{cfg.newsletter.url}>")]
    if unsubscribe := unsubscribe_header(cfg):
        headers.append(("List-Unsubscribe", unsubscribe))
    if (cfg.email.unsubscribe_url or "").startswith("https://"):  # RFC 8058 wants https
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers.append(("MIME-Version", "1.0"))
    return headers


def _qp_part(body: str, subtype: str) -> bytes:
    """One part as the generator writes text_part(body, subtype)."""
    encoded = binascii.b2a_qp(body.encode(), istext=True)
    # The generator writes every line end as CRLF; b2a_qp writes "\n" unless the body had "\r".
    lines = (encoded.replace(b"\n", b"\r\n") if b"\r" not in encoded
             else NEWLINE.sub("\r\n", encoded.decode("ascii")).encode("ascii"))
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode("ascii") + lines


def stdlib_eml(view: IssueView, text: str, html: str) -> bytes:
    """The whole message from the email package's generator: what build_eml must equal."""
    msg = eml_headers(view, text, html)
    msg.set_payload([text_part(text, "plain"), text_part(html, "html")])
    raw = msg.as_bytes(policy=SMTP)
    verify_addresses(raw, address_headers(view.config))
    return raw


def eml_headers(view: IssueView, text: str, html: str) -> EmailMessage:
    """The message's headers, with its deterministic boundary, and no payload yet."""
    cfg = view.config
    msg = EmailMessage()
    msg["Subject"] = subject_for(cfg, view.issue, view.number)
    for name, (key, address, display) in address_headers(cfg).items():
        msg[name] = header_address(key, address, display)
    msg["Date"] = send_date(view)
    msg["Message-ID"] = message_id(view)
    for name, value in list_headers(cfg):
        msg[name] = value
    msg["Content-Type"] = "multipart/alternative"
    msg.set_boundary(f"=_{_digest(text, html)}")
    return msg


AddressHeaders = dict[str, tuple[str, str, str]]


def address_headers(cfg: Config) -> AddressHeaders:
    """Header -> (config key, address, display name): each address validated by config."""
    headers = {"From": ("from", cfg.email.sender, cfg.email.sender_name or cfg.newsletter.title)}
    if cfg.email.reply_to:
        headers["Reply-To"] = ("reply_to", cfg.email.reply_to, "")
    headers["To"] = ("to", cfg.email.to, "")
    return headers


def header_address(key: str, address: str, display: str) -> Address:
    """An Address object: the stdlib quotes and encodes the display name itself."""
    try:
        return Address(display_name=display, addr_spec=address)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise BuildError(address_problem(key, address)) from exc


def verify_addresses(raw: bytes, expected: AddressHeaders) -> None:
    """Read the message back as a mail client would: exactly one address per header, the
    configured one. Whatever a display name holds, it never becomes a second recipient."""
    headers = BytesHeaderParser(policy=default).parsebytes(raw)
    for name, (key, address, _) in expected.items():
        found = [a.addr_spec for a in getattr(headers[name], "addresses", ())]
        if found != [address] or len(headers.get_all(name) or []) != 1:
            raise BuildError(address_problem("sender_name" if name == "From" else key, address))


def address_problem(key: str, address: str) -> Problem:
    message = f"the header built from it would not read back as exactly one address ({address})"
    return Problem("config.toml", message, "[email]", key, "simplify the display name or the address")


def text_part(body: str, subtype: str) -> MIMEPart:
    """A UTF-8 part in quoted-printable: short lines, and no "=_" (the boundary) inside.
    binascii encodes in C; the email package's own encoder took a quarter of a render."""
    part = MIMEPart()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body.encode(), istext=True).decode("ascii"))
    return part
