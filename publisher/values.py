"""Checked setting values: plain text, mail addresses, time zones, languages.

A setting ends up in a mail header, a feed or a page: what cannot be carried safely is an
error naming the key, never cleaned up silently (a record's text is cleaned, with a warning).
"""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import AddressHeader, HeaderRegistry
from typing import Annotated, cast
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

from publisher.records import CONTROL_CHARS_RE, char_name

_HEADERS = HeaderRegistry()


def plain_text(value: object) -> object:
    """Raise on control, separator or bidi characters in any string of a setting (a
    string, or one inside a list or table, keys included)."""
    if isinstance(value, str):
        if found := CONTROL_CHARS_RE.search(value):
            raise ValueError(
                f"holds the invisible character {char_name(found.group())}, which may not reach"
                " a mail header, a feed or a page; delete it (it was often pasted along)"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            plain_text(key)
            plain_text(item)
    elif isinstance(value, list | tuple):
        for item in value:
            plain_text(item)
    return value


def one_address(value: str) -> str:
    """Exactly one bare address (user@example.org), as the stdlib's header parser reads it."""
    value = value.strip()
    if any(c in value for c in "\r\n\t"):
        raise ValueError("must be a single line: it becomes a mail header")
    try:
        header = cast(AddressHeader, _HEADERS("To", value))
        addresses = header.addresses
        problems = bool(getattr(header, "defects", ())) or len(addresses) != 1
        address = addresses[0] if addresses else None
    except (HeaderParseError, IndexError, ValueError, TypeError) as exc:  # parser edge cases
        raise ValueError(_not_an_address(value)) from exc
    if problems or address is None or address.display_name or address.addr_spec != value:
        raise ValueError(_not_an_address(value))
    if not address.username or "." not in address.domain.strip("."):
        raise ValueError(_not_an_address(value))
    return value


def optional_address(value: str) -> str:
    return one_address(value) if value.strip() else ""


def _not_an_address(value: str) -> str:
    shown = f"'{value[:80]}'" if value else "an empty value"
    return (
        f"{shown} is not exactly one email address: write one bare address, like"
        " news@example.org (the display name is a setting of its own)"
    )


def time_zone(value: str) -> str:
    """An IANA time zone name the system knows, like Europe/Brussels."""
    try:
        ZoneInfo(value)
    except (ValueError, OSError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(
            f"'{value[:60]}' is not a known time zone: use an IANA name like Europe/Brussels or UTC"
        ) from exc
    return value


def language_tag(value: str) -> str:
    """A BCP 47 language tag such as en, pt-BR or zh-Hant: letters and digits in short parts."""
    parts = value.split("-")
    first, rest = parts[0], parts[1:]
    ok = first.isascii() and first.isalpha() and 2 <= len(first) <= 8
    ok = ok and all(p.isascii() and p.isalnum() and 1 <= len(p) <= 8 for p in rest)
    if not ok:
        raise ValueError(f"'{value[:40]}' is not a language tag: write one like en, de or pt-BR")
    return value


Address = Annotated[str, AfterValidator(one_address)]
OptionalAddress = Annotated[str, AfterValidator(optional_address)]
TimeZone = Annotated[str, AfterValidator(time_zone)]
Language = Annotated[str, AfterValidator(language_tag)]
