"""Address normalisation: one stored form per mailbox; lists, names and line breaks refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.delivery import tokens
from publisher.delivery.addresses import InvalidAddress, display_domain, normalise_address


@pytest.mark.parametrize(("raw", "stored"), [
    ("  Ana.Lima+news@Example.ORG ", "Ana.Lima+news@example.org"),
    ("x@Bücher.Example", "x@xn--bcher-kva.example"),
    ("x@ÉCOLE.fr", "x@xn--cole-9oa.fr"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_normalised_form(raw: str, stored: str) -> None:
    assert normalise_address(raw) == stored
    assert normalise_address(stored) == stored


@pytest.mark.parametrize("raw", [
    "a@b.org, c@d.org", "Ana <a@b.org>", "a@b.org\nBcc: c@d.org", "a@b.org\r", "a\x00@b.org",
    "", "   ", "@b.org", "a@", "a@b", "a..b@c.org", ".a@b.org", "a b@c.org", "ü@b.org", "a@-b.org",
    '"a"@b.org', "a@b.org>",
])
def test_refused(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalise_address(raw)


def test_idn_shown_in_unicode() -> None:
    assert display_domain("x@xn--bcher-kva.example") == "x@bücher.example"


@given(st.text(max_size=40))
def test_anything_normalised_is_stable_and_header_safe(raw: str) -> None:
    try:
        stored = normalise_address(raw)
    except InvalidAddress:
        return
    assert normalise_address(stored) == stored
    assert stored.isascii() and not any(c in stored for c in "\r\n\t ,<>")


@given(st.integers(min_value=1, max_value=2**53), st.sampled_from(tokens.PURPOSES))
def test_tokens_round_trip_for_any_id(subscriber_id: int, purpose: str) -> None:
    key = b"k" * 32
    token = tokens.sign(subscriber_id, purpose, key, issued_at=1000)
    assert tokens.verify(token, purpose, key, max_age=60, now=1010) == subscriber_id
