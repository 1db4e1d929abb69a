"""The template filters' quick paths against what they stand for: wrap against textwrap.fill,
the remembered utm filter against add_params."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from publisher.theme import add_params, tracking, wrap

LETTERS = list("abcdefghij-\u2019\u00e9.,:\u4e2d")
WORD = st.text(st.sampled_from(LETTERS), max_size=15)
PARAGRAPH = st.lists(WORD, max_size=40).map(" ".join)  # the quick path's kind of text
ITEM = st.tuples(st.sampled_from(["", " ", "  ", "    "]), PARAGRAPH).map("".join)  # "  - a list item"
ODD = st.text(st.sampled_from([*LETTERS, " ", "\t", "\xa0", "\u2009", "\x1c", "\u2028"]), max_size=120)


def textwraps(text: str, width: int, indent: str) -> str:
    return "\n".join(
        textwrap.fill(p, width=width, subsequent_indent=indent, break_long_words=False,
                      break_on_hyphens=False) if p.strip() else ""
        for p in text.split("\n")
    )


@settings(max_examples=5000, deadline=None)
@given(PARAGRAPH | ITEM | ODD | st.text(max_size=120), st.integers(1, 80), st.sampled_from(["", "  ", "    ", "x" * 10]))
def test_wrap_is_textwrap_fill(text: str, width: int, indent: str) -> None:
    assert wrap(text, width, indent) == textwraps(text, width, indent)


def test_wrap_keeps_long_urls_whole() -> None:
    url = "https://example.org/" + "a" * 80
    assert wrap(f"Read it at {url} today", 30) == f"Read it at\n{url}\ntoday"


def test_the_utm_filter_remembers_plain_urls_and_leaves_markup_its_type() -> None:
    params = {"utm_source": "newsletter", "utm_medium": "email"}
    utm = tracking(params)
    url = "https://example.org/a?n=1&utm_medium=kept"
    assert utm(url) == utm(url) == add_params(url, params)
    assert utm(url) == "https://example.org/a?n=1&utm_medium=kept&utm_source=newsletter"
    marked = tracking({})(Markup("https://example.org/&amp;"))
    assert isinstance(marked, Markup)
    assert type(tracking({})("https://example.org/")) is str
