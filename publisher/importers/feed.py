"""RSS and Atom, read with feedparser: its sanitising, encodings and lenient recovery."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any
from urllib.parse import quote
from xml.sax import SAXParseException

import feedparser

from publisher.errors import Problem
from publisher.importers.mapping import (
    Candidate,
    InvalidDate,
    absolute_url,
    html_to_markdown,
    parse_date,
    plain_text,
    tags_from,
    url_key,
)
from publisher.importers.sources import SourceError

IMAGE_EXT_RE = re.compile(r"\.(jpe?g|png|gif|webp|avif)(\?|$)", re.IGNORECASE)
IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ALT_LIMIT = 300
HTML_RE = re.compile(rb"<(!doctype\s+)?html[\s>]", re.IGNORECASE)
ATTR_RE = re.compile(r'\b(src|alt)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')', re.IGNORECASE)


def parse_feed(
    data: bytes, label: str, base: str = "", strict: bool = False
) -> tuple[list[Candidate], list[str]]:
    """Candidates of an RSS/Atom document, and notes on what feedparser had to recover."""
    # Summaries become Markdown through a whitelist (mapping.html_to_markdown) that resolves
    # links itself, so feedparser's own sanitising and URI resolution (30% of its time) are off.
    headers = {"content-location": base} if base else None
    parsed = feedparser.parse(
        data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    notes = _check(parsed, data, label, strict)
    bases = [base, *_feed_bases(parsed.feed)]
    feed = parsed.feed
    fallback = parse_date(dict.get(feed, "updated") or dict.get(feed, "published"))
    items = [_candidate(e, n, label, bases, fallback) for n, e in enumerate(parsed.entries, 1)]
    distinct_links(items, parsed.entries, feed.get("link", ""))
    return items, notes


def distinct_links(items: list[Candidate], entries: list[Any], channel: str) -> None:
    """Podcast and media feeds often give every item the channel's <link>: such an item is
    its permalink <guid>, else its enclosure, else the link with its guid as a #fragment."""
    counts = Counter(url_key(i.url) for i in items if i.url)
    shared = {k for k, n in counts.items() if n > 1} | ({url_key(channel)} if channel else set())
    for item, entry in zip(items, entries, strict=True):
        if item.url and url_key(item.url) in shared:
            found, how = _own_link(entry, item.url)
            if found and url_key(found) not in shared:
                item.notes.append(f"its <link> is shared with other items: took its {how}")
                item.url = found


def _own_link(entry: Any, link: str) -> tuple[str, str]:
    guid = str(entry.get("id", "")).strip()
    # feedparser: guidislink is false only for isPermaLink="false"
    if guid.startswith(("https://", "http://")) and entry.get("guidislink", True):
        return guid, "permalink <guid>"
    for enclosure in entry.get("enclosures", []):
        if (href := str(enclosure.get("href", ""))).startswith(("https://", "http://")):
            return href, "enclosure"
    if guid.startswith(("https://", "http://")):
        return guid, "<guid>"
    if guid:
        return f"{link.split('#')[0]}#{quote(guid, safe='')}", "<guid> as a #fragment of the link"
    return "", ""


def _check(parsed: Any, data: bytes, label: str, strict: bool) -> list[str]:
    """Raise for what is not a feed at all; describe what feedparser recovered from."""
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.version and not parsed.entries:
        looks = " (it is an HTML page)" if HTML_RE.search(data[:2048]) else ""
        reason = f"; the XML parser stopped at {_where(error)}: {_reason(error)}" if error else ""
        hint = "give the feed's own URL or file"
        raise SourceError(Problem(label, f"not an RSS or Atom feed{looks}{reason}", hint=hint))
    if isinstance(error, SAXParseException):
        return _malformed(error, len(parsed.entries), label, strict)
    # e.g. an encoding declared wrongly, read as another
    return [f"{label}: {error}"] if error is not None else []


def _malformed(error: SAXParseException, recovered: int, label: str, strict: bool) -> list[str]:
    """Not well-formed XML: an error when nothing was recovered or --strict, else a note."""
    what = f"not well-formed XML at {_where(error)}: {_reason(error)}"
    if strict or not recovered:
        hint = (
            "import without --strict to keep what can be recovered"
            if recovered
            else "the file may be truncated or damaged; fetch it again"
        )
        message = f"{what}; {recovered} items recovered"
        raise SourceError(Problem(label, message, line=error.getLineNumber(), hint=hint))
    return [f"{label}: {what}; recovered {recovered} items with feedparser's lenient parser"]


def _where(error: object) -> str:
    if isinstance(error, SAXParseException):
        return f"line {error.getLineNumber()}, column {error.getColumnNumber()}"
    return "the start"


def _reason(error: object) -> str:
    if isinstance(error, SAXParseException):
        return str(error.getMessage())
    return str(error)


def _feed_bases(feed: Any) -> list[str]:
    links = [link.get("href", "") for link in feed.get("links", [])]
    return [feed.get("link", ""), *links, feed.get("id", "")]


def _candidate(
    entry: Any, n: int, label: str, bases: list[str], fallback: date | None
) -> Candidate:
    guid = str(entry.get("id", ""))
    # FeedBurner's <feedburner:origLink> is the article itself; <link> is a tracking redirect.
    raw = dict.get(entry, "feedburner_origlink") or entry.get("link", "")
    link = absolute_url(raw, [*bases, guid]) or absolute_url(guid, [])
    title = plain_text(entry.get("title", "")).strip()
    item = Candidate(where=f"{label}, item #{n}" + (f" ('{title[:60]}')" if title else ""))
    item.title, item.url, item.id = title, link, ""
    try:
        item.published = _entry_date(entry)
    except InvalidDate as exc:
        item.invalid = f"field 'published' (the item's date): {exc}"
    if item.published is None and fallback is not None and not item.invalid:
        item.published = fallback
        item.notes.append("no date of its own: took the feed's date")
    item.summary = html_to_markdown(_summary_html(entry), link or bases[0])
    terms = [t.get("term") or t.get("label") or "" for t in entry.get("tags", [])]
    item.category = terms[0].strip() if terms else ""
    item.tags = tags_from(terms)
    item.author = entry.get("author", "")
    item.image = _image(entry, link or bases[0])
    return item


def _entry_date(entry: Any) -> date | None:
    """The day as the source wrote it (feedparser's parsed dates are in UTC: a story from
    Friday evening in New York would be Saturday's), else feedparser's parse."""
    # dict.get: FeedParserDict.get maps missing keys to others, with a DeprecationWarning.
    for key in ("published", "updated", "created"):
        if found := parse_date(dict.get(entry, key)):  # InvalidDate: never feedparser's roll-over
            return found
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if parsed := dict.get(entry, key):
            return date(*parsed[:3])
    return None


def _summary_html(entry: Any) -> str:
    if summary := entry.get("summary"):
        return str(summary)
    contents = entry.get("content") or []
    return str(contents[0].get("value", "")) if contents else ""


def _image(entry: Any, base: str) -> dict[str, str] | None:
    """media:content, media:thumbnail, an image enclosure, or the first <img> of the content."""
    alt = _media_description(entry)
    credit = _credit(entry)
    for url in _media_urls(entry):
        return {"url": absolute_url(url, [base]), "alt": alt, "credit": credit}
    html = _summary_html(entry) + "".join(c.get("value", "") for c in entry.get("content", []))
    if match := IMG_RE.search(html):
        attrs = {
            m.group(1).lower(): m.group(2) or m.group(3) or ""
            for m in ATTR_RE.finditer(match.group(0))
        }
        if attrs.get("src"):
            return {
                "url": absolute_url(attrs["src"], [base]),
                "alt": plain_text(attrs.get("alt", "")).strip() or alt,
                "credit": credit,
            }
    return None


def _media_description(entry: Any) -> str:
    """feedparser files media:description as plain-text content: the image's description."""
    for content in entry.get("content", []):
        value = str(content.get("value", ""))
        if content.get("type") == "text/plain" and len(value) <= ALT_LIMIT:
            return plain_text(value).strip()
    return ""


def _media_urls(entry: Any) -> list[str]:
    urls = [
        m.get("url", "")
        for m in entry.get("media_content", [])
        if m.get("medium") == "image"
        or str(m.get("type", "")).startswith("image/")
        or IMAGE_EXT_RE.search(m.get("url", ""))
    ]
    urls += [m.get("url", "") for m in entry.get("media_thumbnail", [])]
    urls += [
        link.get("href", "")
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    return [u for u in urls if u]


def _credit(entry: Any) -> str:
    credit = entry.get("media_credit")
    if isinstance(credit, list) and credit:
        return str(credit[0].get("content", ""))
    return str(credit.get("content", "")) if isinstance(credit, dict) else ""
