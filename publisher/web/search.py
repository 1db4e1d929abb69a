"""The archive's static search index: MiniSearch's own serialised form (its `toJSON()`,
serializationVersion 2), computed here at build time and loaded in the browser with
`MiniSearch.loadJS` from a plain <script>, so search works from file:// and http:// alike.

Words are split and normalised as templates/search/search.js does at query time: runs of
letters and digits, accents removed, lowercased, one-letter words skipped."""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from publisher.config import Config
from publisher.labels import tag_label, visible_tags
from publisher.markup import markdown_text
from publisher.selection import IssueView

FIELDS = ("title", "text", "tags")
INDEX_FILE = "search/index.js"
JS_PREFIX, JS_SUFFIX = "window.PUBLISHER_SEARCH = ", ";\n"
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


def documents(config: Config, views: Sequence[IssueView]) -> Iterator[Document]:
    """Each published issue (title, intro) and each of its articles, oldest issue first."""
    every_tag = {t for v in views for a in v.issue.articles for t in a.tags}
    label = {t: tag_label(config, t) for t in every_tag}  # a few hundred tags, 50,000 uses

    def texts() -> Iterator[tuple[str, str, str]]:
        for view in views:
            yield view.issue.title, markdown_text(view.issue.intro), ""
            for a in view.issue.articles:
                labels = " ".join(label[t] for t in visible_tags(config, a.tags))
                yield a.title, " ".join(x for x in (markdown_text(a.summary), a.category, a.source, a.author) if x), labels

    for (doc_id, stored), fields in zip(stored_fields(views), texts(), strict=True):
        yield Document(doc_id, fields, stored)


def stored_fields(views: Sequence[IssueView]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each document's id and stored fields, as documents() makes them, without their text."""
    for n, view in enumerate(views):
        issue = view.issue
        yield f"issue:{issue.id}", {"t": issue.title, "s": "", "i": n}
        for a in issue.articles:
            yield a.id, {"t": a.title, "s": a.source, "i": n}


class Postings:
    """The inverted index as it is made, one document at a time: per field, each word's
    documents and counts in one array (document, count, document, count, ...), and each
    document's parts already as JSON text. At 75,000 articles dicts of dicts grew the build
    by 525 MB; this, by about 70 MB, and the text is written out as it is made (`chunks`)."""

    def __init__(self) -> None:
        self.words: list[dict[str, array[int]]] = [{} for _ in FIELDS]
        self.lengths = array("I")  # three per document: its unique words in each field
        self.totals = [0] * len(FIELDS)
        self.count = 0

    def add(self, doc: Document) -> None:
        short = self.count
        self.count += 1
        for field_id, text in enumerate(doc.fields):
            found = tokens(text)
            self.lengths.append(unique := len(set(found)))
            self.totals[field_id] += unique
            postings = self.words[field_id]
            for word, count in Counter(map(term, found)).items():
                if (row := postings.get(word)) is None:
                    postings[word] = row = array("I")
                row.extend((short, count))

    def chunks(self, stored: Callable[[], Iterable[tuple[str, dict[str, Any]]]]) -> Iterator[str]:
        """What MiniSearch.toJSON() would give after adding the documents in order, as JSON
        text in pieces; the words' arrays are let go as they are written. stored(): each
        document's id and stored fields, in order, made again (not held meanwhile)."""
        n, lengths = self.count, self.lengths
        yield f'{{"documentCount":{n},"nextId":{n},"documentIds":{{'
        yield from _joined(f'"{i}":{_json(doc_id)}' for i, (doc_id, _) in enumerate(stored()))
        yield f'}},"fieldIds":{_json({f: i for i, f in enumerate(FIELDS)})},"fieldLength":{{'
        yield from _joined(f'"{i}":[{lengths[3 * i]},{lengths[3 * i + 1]},{lengths[3 * i + 2]}]' for i in range(n))
        yield f'}},"averageFieldLength":{_json([t / n if n else 0 for t in self.totals])},"storedFields":{{'
        yield from _joined(f'"{i}":{_json(fields)}' for i, (_, fields) in enumerate(stored()))
        yield '},"dirtCount":0,"index":['
        yield from _joined(self.entries())
        yield '],"serializationVersion":2}'

    def entries(self) -> Iterator[str]:
        """[word, {field: {document: count}}] by word, one-letter words left out. A word's fields
        come in the order the documents first met them (earliest document, then field order): the
        order this index has always had, so rebuilds stay byte-identical."""
        words = self.words
        for word in sorted({w for postings in words for w in postings if len(w) > 1}):
            rows = sorted((row[0], f, row) for f, postings in enumerate(words) if (row := postings.pop(word, None)))
            fields = ",".join(f'"{f}":{{{_postings(row)}}}' for _, f, row in rows)
            yield f"[{_json(word)},{{{fields}}}]"


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_PAIR = '"%d":%d,'


def _postings(row: array[int]) -> str:
    """'"doc":count,...' of a row of (document, count) pairs, as JSON writes that object's
    inside: one printf in C per row, not an encoder's walk per pair (6 s at 75,000 articles)."""
    return (_PAIR * (len(row) // 2) % tuple(row))[:-1]


def _joined(parts: Iterable[str], size: int = 1 << 20) -> Iterator[str]:
    """parts joined by commas, in pieces of about `size` characters (a piece per part would
    cost a call each; one piece for all would hold the whole text)."""
    batch: list[str] = []
    held, first = 0, True
    for part in parts:
        batch.append(part)
        held += len(part)
        if held >= size:
            yield ("" if first else ",") + ",".join(batch)
            batch.clear()
            held, first = 0, False
    if batch:
        yield ("" if first else ",") + ",".join(batch)


def minisearch_index(docs: Iterable[Document]) -> dict[str, Any]:
    """What MiniSearch.toJSON() would give after adding `docs` in order, as data."""
    docs = list(docs)
    index = Postings()
    for doc in docs:
        index.add(doc)
    data: dict[str, Any] = json.loads("".join(index.chunks(lambda: ((d.id, d.stored) for d in docs))))
    return data


def search_chunks(config: Config, views: Sequence[IssueView]) -> Iterator[str]:
    """search/index.js in pieces of text: the index of the published issues, as it is made."""
    published = [v for v in sorted(views, key=lambda v: v.issue.sort_key) if v.issue.is_published]
    index = Postings()
    for doc in documents(config, published):
        index.add(doc)
    head = _json({"fields": list(FIELDS), "issues": [[v.number, v.issue.title, v.web_url] for v in published]})
    yield JS_PREFIX
    for text in itertools.chain((head[:-1] + ',"index":',), index.chunks(lambda: stored_fields(published)), ("}",)):
        for char, escape in _JS_ESCAPES:  # replace() is 40x quicker than translate() with a dict
            text = text.replace(char, escape)
        yield text
    yield JS_SUFFIX


def search_index(config: Config, views: Sequence[IssueView]) -> tuple[bytes, int]:
    """search/index.js and how many documents it holds."""
    count = sum(1 + len(v.issue.articles) for v in views if v.issue.is_published)
    return "".join(search_chunks(config, views)).encode(), count
