"""From a source's raw item to an article record: dates, URLs, tags, Markdown summaries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from feedparser.datetimes import _parse_date as feedparser_date
from lxml import etree

from publisher.links.normalize import normalize_url
from publisher.records import normalize_tag, slugify

SUMMARY_LIMIT = 1000
TITLE_LIMIT = 120
ID_LIMIT = 80
# Local-language month names seen in real feeds ("mer, 16 nov 2022"): Italian, French,
# German, Spanish, Portuguese, Dutch; feedparser understands only English ones.
MONTHS = {
    "gen": 1, "genn": 1, "janv": 1, "jan": 1, "ene": 1, "jän": 1, "janeiro": 1,
    "febbr": 2, "feb": 2, "févr": 2, "fev": 2, "fév": 2,
    "mar": 3, "mars": 3, "mär": 3, "mrt": 3, "marzo": 3,
    "apr": 4, "avr": 4, "abr": 4,
    "mag": 5, "mai": 5, "may": 5, "mei": 5, "mayo": 5,
    "giu": 6, "juin": 6, "jun": 6, "junio": 6,
    "lug": 7, "juil": 7, "jul": 7, "julio": 7,
    "ago": 8, "août": 8, "aug": 8, "aoû": 8,
    "set": 9, "sept": 9, "sep": 9,
    "ott": 10, "oct": 10, "okt": 10, "out": 10,
    "nov": 11,
    "dic": 12, "déc": 12, "dez": 12, "dec": 12,
}  # fmt: skip
LOCAL_DATE_RE = re.compile(r"(\d{1,2})\.?\s+([^\W\d_]+)\.?\s+(\d{4}|\d{2})\b")
TAG_RE = re.compile(r"<[a-zA-Z/!]")
CONTROL_RE = re.compile(r"[\s\x00-\x1f]")
MD_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>])")


@dataclass
class Candidate:
    """One item of a source, before it becomes an Article; `where` names it in messages."""

    where: str
    title: str = ""
    url: str = ""
    id: str = ""
    published: date | None = None
    summary: str = ""
    category: str = ""
    tags: list[str] = field(default_factory=list)
    author: str = ""
    source: str = ""
    image: dict[str, Any] | None = None
    popularity: int | None = None
    notes: list[str] = field(default_factory=list)
    invalid: str = ""  # why the item cannot become an article, naming the field


class InvalidDate(ValueError):
    """A date written as YYYY-MM-DD that no calendar has (2024-02-30)."""


ISO_DAY_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])")


def parse_date(value: object) -> date | None:
    """A date from ISO, RFC 822, feedparser's many formats, or local-language month names."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if (day := ISO_DAY_RE.match(text)) and _iso_date(text) is None:
        try:
            date(*map(int, day.groups()))
        except ValueError as exc:  # lenient parsers would roll it over: 2024-02-30 -> 2024-03-01
            raise InvalidDate(f"'{text}' is not a date: {exc}") from exc
    for parse in (_iso_date, _rfc822_date, _feedparser_date, _local_date):
        if (found := parse(text)) is not None:
            return found
    return None


def _iso_date(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _rfc822_date(text: str) -> date | None:
    try:
        return parsedate_to_datetime(text).date()
    except (TypeError, ValueError, IndexError):
        return None


def _feedparser_date(text: str) -> date | None:
    parsed = feedparser_date(text)
    return date(*parsed[:3]) if parsed else None


def _local_date(text: str) -> date | None:
    match = LOCAL_DATE_RE.search(text)
    if not match:
        return None
    day, name, year = match.groups()
    month = MONTHS.get(name.lower()) or MONTHS.get(name.lower()[:3])
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    try:
        return date(full_year, month, int(day)) if month else None
    except ValueError:
        return None


def absolute_url(url: str, bases: list[str]) -> str:
    """Resolve a relative URL against the first absolute base; '' when none can."""
    url = (url or "").strip()
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return url
    if scheme:  # javascript:, data:, mailto: ... are not article or image addresses
        return ""
    for base in bases:
        if urlsplit(base).scheme in ("http", "https") and urlsplit(base).netloc:
            return urljoin(base, url) if url else ""
    return ""


def url_key(url: str) -> str:
    """The form two URLs are compared in (publisher.links.normalize): https, no www., no
    tracking parameters or trailing slash; a non-empty #fragment names another item."""
    return normalize_url(url)


def article_id(url: str, taken: set[str]) -> str:
    """A slug from the URL's path (and query, for ?p=123 links), unique in `taken`."""
    parts = urlsplit(url)
    base = slugify(parts.path + " " + parts.query) or slugify(parts.netloc) or "article"
    base = base[:ID_LIMIT].rsplit("-", 1)[0] if len(base) > ID_LIMIT else base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


BACKSLASH_RE = re.compile(r"\\(.)")


def tags_from(terms: list[str]) -> list[str]:
    """Normalised tags; backslash escapes some exports leave (angie\\'s-list) are undone."""
    unescaped = (BACKSLASH_RE.sub(r"\1", x) for x in terms if x)
    return list(dict.fromkeys(t for t in map(normalize_tag, unescaped) if t))


def title_from_summary(item: Candidate) -> None:
    """An item without a title (valid RSS 2.0) is titled by its description's first sentence."""
    if item.title or not item.summary:
        return
    from publisher.markup import first_sentence  # only for such items: Markdown loads late

    item.title = first_sentence(item.summary, TITLE_LIMIT)
    item.notes.append("no title: took the first sentence of its description; check it")


def plain_text(html: str) -> str:
    """Text of an HTML fragment (titles may hold markup or entities)."""
    if not TAG_RE.search(html) and "&" not in html:
        return html
    try:
        return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
    except (etree.ParserError, ValueError):
        return html


def html_to_markdown(html: str, base: str = "", limit: int = SUMMARY_LIMIT) -> str:
    """HTML to Markdown through a whitelist: paragraphs, http(s) links (resolved against
    `base`), emphasis and lists; scripts, styles, images and every attribute are dropped."""
    if not TAG_RE.search(html) and "&" not in html:
        return trim(re.sub(r"[ \t]+", " ", html).strip(), limit)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    text = _blocks(root, base)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return trim(re.sub(r"\n{3,}", "\n\n", text).strip(), limit)


BLOCKS = {"p", "div", "br", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "table", "tr", "pre", "figure", "section", "article"}  # fmt: skip
DROPPED = {"script", "style", "img", "figure", "iframe", "svg", "video", "audio", "object"}


def _blocks(element: etree._Element, base: str) -> str:
    parts = [_escape(element.text or "")]
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag.lower() not in DROPPED:
            parts.append(_inline(child, tag.lower(), base))
        parts.append(_escape(child.tail or ""))
    return "".join(parts)


def _inline(child: etree._Element, tag: str, base: str) -> str:
    inner = _blocks(child, base)
    href = absolute_url(child.get("href", ""), [base]) if tag == "a" else ""
    if href and not CONTROL_RE.search(href):
        return f"[{inner.strip()}]({href.replace(')', '%29')})" if inner.strip() else ""
    if tag in ("em", "i") and inner.strip():
        return f"*{inner.strip()}*"
    if tag in ("strong", "b") and inner.strip():
        return f"**{inner.strip()}**"
    if tag == "li":
        return f"\n- {inner.strip()}\n"
    return f"\n\n{inner}\n\n" if tag in BLOCKS else inner


def _escape(text: str) -> str:
    return MD_SPECIAL_RE.sub(r"\\\1", text)


def trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a paragraph, a sentence or a word."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for mark in ("\n\n", ". ", " "):
        if (at := cut.rfind(mark)) > limit // 2:
            return cut[: at + (1 if mark == ". " else 0)].rstrip() + " …"
    return cut.rstrip() + " …"
