"""Normalised subscriber addresses: one form per mailbox, so duplicates and suppressions match.

The form: surrounding space trimmed, local part kept as written, domain lowercased and, for an
internationalised domain, stored as its ASCII IDNA form (UTS #46 + IDNA 2008, e.g.
`bücher.de` -> `xn--bcher-kva.de`). Every address is parsed by the stdlib `email` package.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# After IDNA encoding: LDH labels, at least two of them.
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")


class InvalidAddress(ValueError):
    """Why a string is not one plain email address."""


def normalise_address(raw: str) -> str:
    """The stored form of one bare address (no display name), or InvalidAddress saying why."""
    if _CONTROL.search(raw):  # even a trailing one: a line break is never part of an address
        raise InvalidAddress("contains a line break or control character")
    text = raw.strip()
    if not text:
        raise InvalidAddress("empty address")
    name, address = parseaddr(text)
    if address != text or name:
        # parseaddr keeps only the first of "a@b.c, d@e.f" and drops display names
        raise InvalidAddress("not one bare address (a list, a display name or stray characters)")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress("no '@' between a local part and a domain")
    if not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidAddress("the part before '@' has characters mail servers do not accept")
    return f"{local}@{_domain(domain)}"


def _domain(domain: str) -> str:
    if not domain.isascii():
        import idna  # only for internationalised domains: its tables take a moment to load

        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise InvalidAddress(f"the domain is not a valid internationalised name: {error}") from error
    domain = domain.lower()
    if not _DOMAIN.fullmatch(domain):
        raise InvalidAddress(f"'{domain}' is not a valid domain name")
    return domain


def display_domain(address: str) -> str:
    """The address with an IDNA domain shown in Unicode, for people to read."""
    import idna

    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{idna.decode(domain)}" if "xn--" in domain else address
    except idna.IDNAError:
        return address
