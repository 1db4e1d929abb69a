"""Personalisation without re-rendering: the issue is rendered, inlined and QP-encoded once,
with markers where a recipient's parts go; each message only fills those in.

Every marker sits on a quoted-printable line of its own, between two soft line breaks, so a
filled value never moves the surrounding lines: they stay exactly as the encoder made them.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from email.charset import Charset
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP
from email.utils import formataddr, parseaddr
from html import escape

from jinja2 import Environment

from publisher.config import Config
from publisher.email import email_css
from publisher.eml import list_id, mail_domain, subject_for
from publisher.errors import Problem, PublisherError
from publisher.inline import inline_css
from publisher.selection import IssueView

MAX_QP_LINE = 76  # RFC 2045
MAX_LINE = 78  # RFC 5322 SHOULD
MAX_NAME = 120  # a display name longer than this is cut: no real name is, an abuse may be


class RecipientError(PublisherError):
    """One recipient's address or name cannot go into a message (the others can)."""


@dataclass(frozen=True)
class Personal:
    """What differs per message."""

    email: str
    name: str | None
    unsubscribe_url: str
    message_id: str


@dataclass(frozen=True)
class MessageTemplate:
    """The whole message as bytes, cut at the markers: literals[i], then slot kinds[i], ..."""

    literals: tuple[bytes, ...]
    kinds: tuple[str, ...]
    unsubscribe_mailto: str
    name_fallback: str

    def fill(self, person: Personal) -> bytes:
        """One recipient's message, ready for SMTP DATA (CRLF, ASCII, lines <= 78)."""
        url = checked_url(person.unsubscribe_url)
        name = clean_name(person.name)
        shown = name or self.name_fallback
        values = {
            "url_html": qp_value(escape(url)),
            "url_text": qp_value(url),
            "name_html": qp_value(escape(shown)),
            "name_text": qp_value(shown),
        }
        head = personal_headers(person, name, url, self.unsubscribe_mailto)
        parts = [head, self.literals[0]]
        for kind, literal in zip(self.kinds, self.literals[1:], strict=True):
            parts.append(values[kind])
            parts.append(literal)
        return b"".join(parts)


def render_template(
    env: Environment,
    view: IssueView,
    date: str,
    subject_prefix: str = "",
    name_fallback: str = "",
) -> MessageTemplate:
    """Render + inline the issue once (premailer runs here, never per recipient)."""
    nonce = secrets.token_hex(8)
    url_mark, name_mark = f"https://fill-{nonce}.invalid/u", f"FILL{nonce}NAME"
    config = view.config
    ctx = {"view": view, "config": config, "unsubscribe_url": url_mark, "recipient_name": name_mark}
    html = inline_css(
        env.get_template("email.html").render(css=email_css(env), **ctx), config.newsletter.url
    )
    text = env.get_template("email.txt").render(**ctx)
    marks = {url_mark: "url", name_mark: "name"}
    text_qp = qp_with_markers(text, marks, "text", nonce)
    html_qp = qp_with_markers(html, marks, "html", nonce)
    skeleton = skeleton_bytes(view, date, subject_prefix, text_qp, html_qp)
    cut = re.split(rb"@@FILL-" + nonce.encode() + rb":(\w+)@@", skeleton)
    literals, kinds = tuple(cut[0::2]), tuple(k.decode() for k in cut[1::2])
    mailto = config.email.unsubscribe_mailto
    return MessageTemplate(literals, kinds, mailto, clean_name(name_fallback))


def qp_with_markers(body: str, marks: dict[str, str], context: str, nonce: str) -> str:
    """Quoted-printable of body, each mark replaced by a marker line of its own."""
    pattern = "|".join(re.escape(m) for m in marks)
    pieces = re.split(f"({pattern})", body)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:
            out.append(f"@@FILL-{nonce}:{marks[piece]}_{context}@@=\n")
        elif i < len(pieces) - 1:
            out.append(qp_open(piece.encode()))
        else:
            out.append(binascii.b2a_qp(piece.encode(), istext=True).decode("ascii"))
    return "".join(out)


def qp_open(data: bytes) -> str:
    """QP of data, ending in a soft line break, every line at most 76 characters."""
    return soft_wrapped(binascii.b2a_qp(data, istext=True)).decode("ascii") + "\n"


def qp_value(value: str) -> bytes:
    """A filled value: its own QP line(s), closed by a soft break (the marker line's '=')."""
    encoded = soft_wrapped(binascii.b2a_qp(value.encode(), istext=True))
    # The marker line already ends with '=' + CRLF: drop ours so it is not doubled.
    return encoded[:-1].replace(b"\n", b"\r\n")


def soft_wrapped(qp: bytes) -> bytes:
    """Append a soft break '=' to the last line, splitting it first if it would pass 76."""
    head, newline, last = qp.rpartition(b"\n")
    prefix = head + newline
    if len(last) >= MAX_QP_LINE:
        cut = MAX_QP_LINE - 1
        # Never split an =XY escape.
        if last[cut - 1 : cut] == b"=":
            cut -= 1
        elif last[cut - 2 : cut - 1] == b"=":
            cut -= 2
        last = last[:cut] + b"=\n" + last[cut:]
    return prefix + last + b"="


def skeleton_bytes(view: IssueView, date: str, subject_prefix: str, text: str, html: str) -> bytes:
    """The shared headers and both parts, as build_eml makes them, less per-recipient headers."""
    cfg = view.config
    msg = EmailMessage()
    msg["Subject"] = subject_prefix + subject_for(cfg, view.issue, view.number)
    msg["From"] = formataddr((cfg.email.sender_name or cfg.newsletter.title, cfg.email.sender))
    if cfg.email.reply_to:
        msg["Reply-To"] = cfg.email.reply_to
    msg["Date"] = date
    msg["List-Id"] = formataddr((cfg.newsletter.title, list_id(cfg)))
    msg["List-Archive"] = f"<{cfg.newsletter.url}>"
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = "multipart/alternative"
    msg.set_payload([qp_part(text, "plain"), qp_part(html, "html")])
    msg.set_boundary(f"=_{hashlib.sha256((text + html).encode()).hexdigest()[:24]}")
    return msg.as_bytes(policy=SMTP)


def qp_part(encoded: str, subtype: str) -> MIMEPart:
    part = MIMEPart()
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(encoded)
    return part


# --- the per-recipient headers ------------------------------------------------------------

URL_RE = re.compile(r"https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")
ADDR_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
DROPPED = {"Cc", "Zl", "Zp", "Cs", "Co", "Cn"}


def clean_name(name: str | None) -> str:
    """A display name on one line: control and separator characters become spaces."""
    if not name:
        return ""
    kept = "".join(" " if unicodedata.category(c) in DROPPED else c for c in name)
    return " ".join(kept.split())[:MAX_NAME].strip()


def checked_url(url: str) -> str:
    if not URL_RE.fullmatch(url):
        raise PublisherError(Problem("config.toml", f"the unsubscribe URL {url!r} is not a plain "
                                     "http(s) URL", "[subscribers]", "endpoint",
                                     "set an absolute https URL without spaces or quotes"))
    return url


def checked_address(address: str) -> str:
    """The stdlib's parse of the address must give it back unchanged, in ASCII."""
    name, parsed = parseaddr(address)
    if name or parsed != address or not ADDR_RE.fullmatch(address):
        raise RecipientError(Problem("subscribers", f"the address {address!r} cannot be a "
                                     "recipient (not a plain ASCII addr-spec)", "subscriber",
                                     "email", "correct it in the ledger"))
    return address


def to_header(address: str, name: str) -> bytes:
    """To: with the name as a quoted string or as one RFC 2047 encoded word."""
    value = fitted_name(name, address) if name else address
    if len(value) + 4 > MAX_LINE:  # the encoded word on the first line, the address folded
        word, _, addr = value.rpartition(" ")
        return f"To: {word}\r\n {addr}\r\n".encode("ascii")
    return f"To: {value}\r\n".encode("ascii")


def fitted_name(name: str, address: str) -> str:
    """The longest start of the name that fits one line (or one encoded word) with the address.

    One word, because readers disagree on several: Python's own parser puts a space between
    adjacent encoded words in a display name, where RFC 2047 says to drop it. So the To name
    is cut, at a character; the greeting in the body keeps the whole name. A name that looks
    like an encoded word itself is encoded too, so it is shown as written."""
    plain = name.isascii() and "=?" not in name
    utf8 = Charset("utf-8")
    for end in range(len(name), 0, -1):
        shown = name[:end].rstrip()
        if plain:
            value = formataddr((shown, address))
            if len(value) + 4 <= MAX_LINE:
                return value
        elif len(word := utf8.header_encode(shown)) <= MAX_LINE - 4:
            return f"{word} <{address}>"
    return address


def personal_headers(person: Personal, name: str, url: str, mailto: str) -> bytes:
    address = checked_address(person.email)
    lines = [to_header(address, name), f"Message-ID: {person.message_id}\r\n".encode()]
    targets = [f"<mailto:{mailto}?subject=unsubscribe>"] if mailto else []
    targets.append(f"<{url}>")
    lines.append(folded("List-Unsubscribe:", targets))
    if url.startswith("https://"):  # RFC 8058 wants https
        lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    return b"".join(lines)


def folded(name: str, items: list[str]) -> bytes:
    """A comma-separated header folded between items, so a line passes 78 only for a long URL."""
    lines = [name]
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(piece) > 78:
            lines.append("")
        lines[-1] += " " + piece
    return ("\r\n".join(lines) + "\r\n").encode()


def recipient_message_id(config: Config, issue_id: str, key: str, secret: bytes) -> str:
    """Deterministic per (issue, recipient): a resent message carries the same id, so receivers
    can drop the duplicate; keyed, so the id says nothing about who the recipient is."""
    digest = hmac.new(secret, f"{issue_id}\0{key}".encode(), hashlib.sha256).hexdigest()[:24]
    return f"<{issue_id}.{digest}@{mail_domain(config)}>"

