"""The archive's static search index: MiniSearch's own serialised form (its `toJSON()`,
serializationVersion 2), computed here at build time and loaded in the browser with
`MiniSearch.loadJS` from a plain <script>, so search works from file:// and http:// alike.

Words are split and normalised as templates/search/search.js does at query time: runs of
letters and digits, accents removed, lowercased, one-letter words skipped."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from publisher.config import Config
from publisher.labels import tag_label, visible_tags
from publisher.markup import markdown_text
from publisher.selection import IssueView

FIELDS = ("title", "text", "tags")
INDEX_FILE = "search/index.js"
_WORD_RE = re.compile(r"[^\W_]+")
# The same escapes as JSON-LD: the file is JavaScript, and U+2028/2029 end lines in old engines.
_JS_ESCAPES = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("<", "\\u003c"))


# ASCII text, most of it, splits faster by str.translate and str.split, to the same runs of
# letters and digits as the regex (a third of its time on the benchmark archive).
_ASCII_SPACES = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def tokens(text: str) -> list[str]:
    if text.isascii():
        return text.translate(_ASCII_SPACES).split()
    return _WORD_RE.findall(unicodedata.normalize("NFC", text))


@lru_cache(maxsize=65536)
def term(token: str) -> str:
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFD", token)
    plain = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return plain.lower()


@dataclass(frozen=True, slots=True)
class Document:
    id: str  # an article's id, or "issue:<issue id>"
    fields: tuple[str, str, str]  # title, text, tags
    stored: dict[str, Any]  # t: title, s: source, i: the issue's position in `issues`


def documents(config: Config, views: Sequence[IssueView]) -> list[Document]:
    """Each published issue (title, intro) and each of its articles, oldest issue first."""
    every_tag = {t for v in views for a in v.issue.articles for t in a.tags}
    label = {t: tag_label(config, t) for t in every_tag}  # a few hundred tags, 50,000 uses
    docs = []
    for n, view in enumerate(views):
        issue = view.issue
        intro = markdown_text(issue.intro)
        docs.append(Document(f"issue:{issue.id}", (issue.title, intro, ""),
                             {"t": issue.title, "s": "", "i": n}))
        for a in issue.articles:
            labels = " ".join(label[t] for t in visible_tags(config, a.tags))
            text = " ".join(x for x in (markdown_text(a.summary), a.category, a.source, a.author) if x)
            docs.append(Document(a.id, (a.title, text, labels), {"t": a.title, "s": a.source, "i": n}))
    return docs


def minisearch_index(docs: Sequence[Document]) -> dict[str, Any]:
    """What MiniSearch.toJSON() would give after adding `docs` in order."""
    # One inverted index per field, {word: {document: count}}, keyed by strings as JSON has them.
    by_field: list[defaultdict[str, dict[str, int]]] = [defaultdict(dict) for _ in FIELDS]
    lengths: dict[str, list[int]] = {}
    totals = [0] * len(FIELDS)
    for short, doc in enumerate(docs):
        key = str(short)
        lengths[key] = row = []
        for field_id, text in enumerate(doc.fields):
            found = tokens(text)
            row.append(unique := len(set(found)))
            totals[field_id] += unique
            postings = by_field[field_id]
            for word, count in Counter(map(term, found)).items():
                postings[word][key] = count
    n = len(docs)
    return {
        "documentCount": n,
        "nextId": n,
        "documentIds": {str(i): d.id for i, d in enumerate(docs)},
        "fieldIds": {f: i for i, f in enumerate(FIELDS)},
        "fieldLength": lengths,
        "averageFieldLength": [t / n if n else 0 for t in totals],
        "storedFields": {str(i): d.stored for i, d in enumerate(docs)},
        "dirtCount": 0,
        "index": index_entries(by_field),
        "serializationVersion": 2,
    }


def index_entries(by_field: Sequence[dict[str, dict[str, int]]]) -> list[list[Any]]:
    """[word, {field: {document: count}}] by word, one-letter words left out. A word's fields
    come in the order the documents first met them (earliest document, then field order): the
    order this index has always had, so rebuilds stay byte-identical."""
    entries: list[list[Any]] = []
    for word in sorted({w for postings in by_field for w in postings if len(w) > 1}):
        met = sorted((int(next(iter(p[word]))), f) for f, p in enumerate(by_field) if word in p)
        entries.append([word, {str(f): by_field[f][word] for _, f in met}])
    return entries


def search_index(config: Config, views: Sequence[IssueView]) -> tuple[bytes, int]:
    """search/index.js and how many documents it holds."""
    published = [v for v in sorted(views, key=lambda v: v.issue.sort_key) if v.issue.is_published]
    docs = documents(config, published)
    data = {
        "fields": list(FIELDS),
        "issues": [[v.number, v.issue.title, v.web_url] for v in published],
        "index": minisearch_index(docs),
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in _JS_ESCAPES:  # replace() is 40x quicker than translate() with a dict
        text = text.replace(char, escape)
    return f"window.PUBLISHER_SEARCH = {text};\n".encode(), len(docs)
