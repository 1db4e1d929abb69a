"""HMAC tokens: round trip, purpose, truncation, forgery, expiry, the secret from the environment."""

from __future__ import annotations

import pytest

from publisher.delivery import tokens
from publisher.errors import ConfigError

KEY = b"k" * 32


def test_round_trip_and_purpose_binding() -> None:
    unsub = tokens.sign(42, "unsubscribe", KEY)
    confirm = tokens.sign(42, "confirm", KEY, issued_at=1_000)
    assert tokens.verify(unsub, "unsubscribe", KEY) == 42
    assert tokens.verify(confirm, "confirm", KEY, max_age=3600, now=2_000) == 42
    assert tokens.verify(unsub, "confirm", KEY) is None
    assert tokens.verify(confirm, "unsubscribe", KEY) is None


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1], lambda t: t[:10], lambda t: "43" + t[2:], lambda t: t + "A",
    lambda t: t.replace(".", ""), lambda t: "", lambda t: "²." + t.split(".")[1],
])
def test_forged_or_truncated_tokens_are_refused(mangle: object) -> None:
    token = tokens.sign(42, "unsubscribe", KEY)
    assert callable(mangle)
    assert tokens.verify(mangle(token), "unsubscribe", KEY) is None
    assert tokens.verify(token, "unsubscribe", b"x" * 32) is None


def test_confirm_tokens_expire_unsubscribe_tokens_never() -> None:
    confirm = tokens.sign(7, "confirm", KEY, issued_at=1_000)
    assert tokens.verify(confirm, "confirm", KEY, max_age=3600, now=1_000 + 3601) is None
    assert tokens.verify(tokens.sign(7, "unsubscribe", KEY), "unsubscribe", KEY, max_age=1) == 7


def test_unsubscribe_url() -> None:
    url = tokens.unsubscribe_url("https://x.org/s/", 5, KEY)
    assert url.startswith("https://x.org/s/unsubscribe/5.") and url.isascii()


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLISHER_SECRET", raising=False)
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET"):
        tokens.secret_from_env()
    monkeypatch.setenv("PUBLISHER_SECRET", "short")
    with pytest.raises(ConfigError, match="too short"):
        tokens.secret_from_env()
    monkeypatch.setenv("PUBLISHER_SECRET", "s" * 40)
    assert tokens.secret_from_env() == b"s" * 40
