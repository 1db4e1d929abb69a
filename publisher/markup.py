"""Editors write Markdown; readers get sanitised HTML or plain text."""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape
from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "hr",
    "sub",
    "sup",
    "small",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
SAFE_SCHEMES = {"http", "https", "mailto"}
# What nh3 removes silently; we name it in a warning so the editor knows.
_SCHEMES = r"(java|vb)script\s*:|\bdata\s*:[^,\s]*[;,]"
UNSAFE_RE = re.compile(
    r"<\s*(script|style|iframe|frame|object|embed|applet|form|input|button|select|textarea"
    r"|link|meta|base|svg|math)\b|\son[a-z]+\s*=|" + _SCHEMES + r"|\sstyle\s*=",
    re.IGNORECASE,
)
SCHEME_RE = re.compile(_SCHEMES, re.IGNORECASE)  # UNSAFE_RE's ':' part


def unsafe_markup(text: str) -> str | None:
    """The first piece of markup that sanitising will remove, if any."""
    # Every piece UNSAFE_RE finds holds '<', '=' or ':'; most summaries hold none of the three
    # or only a colon, and a scan for a character is far quicker than the pattern's.
    if "<" not in text and "=" not in text and not (":" in text and _scheme(text)):
        return None
    match = UNSAFE_RE.search(text)
    return match.group(0).strip() if match else None


def _scheme(text: str) -> bool:
    """SCHEME_RE finds something; an ASCII text without 'script' or 'data' in any case
    (most with a colon) is passed without the pattern, which is slow with IGNORECASE."""
    if text.isascii() and "script" not in (low := text.lower()) and "data" not in low:
        return False
    return SCHEME_RE.search(text) is not None


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    # A relative link means nothing in an inbox or a feed reader.
    if attribute == "href" and not (is_absolute_http(value) or value.startswith("mailto:")):
        return None
    return value


@lru_cache(maxsize=8192)
def markdown_html(text: str) -> Markup:
    """Markdown to HTML: raw HTML allowed in, then sanitised (no scripts, handlers, styles)."""
    html = _md.render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=SAFE_SCHEMES,
        link_rel="noopener",
        attribute_filter=_absolute_links_only,
    )
    return Markup(clean.strip())


@lru_cache(maxsize=8192)
def markdown_text(text: str) -> str:
    """Markdown to plain text: markup dropped, links kept as 'text (url)'."""
    html = str(markdown_html(text))
    html = re.sub(
        r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>',
        lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})",
        html,
        flags=re.S,
    )
    html = re.sub(r"</p>\s*<p>|<br\s*/?>|</li>", "\n", html)
    html = re.sub(r"<li>", "- ", html)
    text = unescape(re.sub(r"<[^>]+>", "", html))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def first_sentence(text: str, limit: int = 150) -> str:
    """The first sentence of some Markdown, as plain text, for inbox previews."""
    if limit == PREVIEW_LIMIT and (known := SENTENCES.get(text)) is not None:
        return known
    return _first_sentence(text, limit)


PREVIEW_LIMIT = 150
# first_sentence(text) made by an earlier build of this code (publisher.sealed keeps them
# per unchanged issue file): rendering each intro's Markdown was a tenth of a rebuild.
SENTENCES: dict[str, str] = {}


@lru_cache(maxsize=8192)
def _first_sentence(text: str, limit: int) -> str:
    plain = " ".join(markdown_text(text).split())
    match = re.match(r"(.+?[.!?])(\s|$)", plain)
    sentence = match.group(1) if match else plain
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def is_absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
