"""Records from a CMS export: a JSON list (or JSON lines) or a CSV file with a header row."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from publisher.errors import Problem
from publisher.importers.mapping import (
    Candidate,
    InvalidDate,
    absolute_url,
    html_to_markdown,
    parse_date,
    plain_text,
    tags_from,
)
from publisher.importers.sources import SourceError
from publisher.records import slugify

# The first key present wins: CMS exports name the same thing differently.
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "headline"),
    "url": ("url", "link", "href", "permalink"),
    "id": ("id", "slug"),
    "published": ("published", "date", "pubdate", "published_at", "created", "created_at"),
    "summary": ("summary", "description", "excerpt", "abstract", "content"),
    "category": ("category", "section"),
    "tags": ("tags", "categories", "keywords"),
    "author": ("author", "authors", "creator", "byline"),
    "source": ("source",),
    "image": ("image", "image_url", "thumbnail"),
    "alt": ("image_alt", "alt"),
    "credit": ("image_credit", "credit"),
    "popularity": ("popularity", "views", "pageviews"),
}


LIST_KEYS = ("articles", "items", "records", "entries")


def decode(data: bytes, label: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, the usual legacy export encoding."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def parse_json(data: bytes, label: str, base: str = "") -> list[Candidate]:
    rows = _json_rows(decode(data, label), label)
    return [_candidate(row, f"{label}, record #{n}", base) for n, row in enumerate(rows, 1)]


def _json_rows(text: str, label: str) -> list[Any]:
    """A JSON list of records, {"articles": [...]} (or items, records, entries), or JSON lines."""
    data = _load_json(text, label)
    if isinstance(data, dict):
        lists = (data[k] for k in LIST_KEYS if isinstance(data.get(k), list))
        record = [data] if _pick(data, "title") or _pick(data, "url") else None
        data = next(lists, record)  # a single record (one line of JSON lines) is a list of one
    if not isinstance(data, list):
        hint = 'write [{"title": ..., "url": ...}, ...]'
        raise SourceError(Problem(label, "expected a list of records", hint=hint))
    return data


def _load_json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        try:  # JSON lines: one record a line
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            message = f"not valid JSON: {exc.msg}"
            hint = "fix the syntax at that line"
            raise SourceError(Problem(label, message, line=exc.lineno, hint=hint)) from exc


def parse_csv(data: bytes, label: str, base: str = "") -> list[Candidate]:
    text = decode(data, label)
    dialect = _dialect(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [k for k in ("title", "url") if not any(a in header for a in ALIASES[k])]
    if missing:
        raise SourceError(
            Problem(
                label,
                f"the header row has no {' or '.join(missing)} column (found: {', '.join(header) or 'nothing'})",
                line=1,
                hint="name the columns in the first row: title,url,published,summary,tags",
            )
        )
    return [_candidate(row, f"{label}, line {reader.line_num}", base) for row in reader]


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _pick(row: dict[str, Any], key: str) -> Any:
    for alias in ALIASES[key]:
        if row.get(alias) not in (None, ""):
            return row[alias]
    return None


def _candidate(row: Any, where: str, base: str) -> Candidate:
    if not isinstance(row, dict):
        return Candidate(
            where=where, notes=["not a record (expected an object with title and url)"]
        )
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    item = Candidate(where=where)
    item.title = plain_text(_text(_pick(row, "title"))).strip()
    item.url = absolute_url(_text(_pick(row, "url")), [base])
    item.id = slugify(_text(_pick(row, "id")))
    try:
        item.published = parse_date(_pick(row, "published"))
    except InvalidDate as exc:
        item.invalid = f"field 'published': {exc}; write a real day, like 2024-02-29"
    item.summary = html_to_markdown(_text(_pick(row, "summary")))
    item.category = _text(_pick(row, "category"))
    item.tags = tags_from(_list(_pick(row, "tags")))
    item.author = ", ".join(_list(_pick(row, "author")))
    item.source = _text(_pick(row, "source"))
    item.image = _image(row, item.url or base)
    item.popularity = _int(_pick(row, "popularity"))
    return item


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    text = _text(value)
    separator = ";" if ";" in text else ","
    return [part.strip() for part in text.split(separator) if part.strip()]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _image(row: dict[str, Any], base: str) -> dict[str, str] | None:
    image = _pick(row, "image")
    if isinstance(image, dict):
        url, alt, credit = image.get("url", ""), image.get("alt", ""), image.get("credit", "")
    else:
        url, alt, credit = _text(image), _text(_pick(row, "alt")), _text(_pick(row, "credit"))
    url = absolute_url(str(url or ""), [base])
    return {"url": url, "alt": str(alt or ""), "credit": str(credit or "")} if url else None
