"""The nouns: articles and issues, validated and immutable once loaded."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from datetime import date
from sys import intern
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    NonNegativeInt,
    PositiveInt,
    PrivateAttr,
    model_validator,
)

from publisher.errors import CONTROL_CHARS

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONTROL_CHARS_RE = re.compile(f"[{CONTROL_CHARS}]")
BIDI_CHARS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


# Letters NFKD does not decompose to ASCII.
_TRANSLITERATE = str.maketrans({"\u0131": "i", "ø": "o", "ß": "ss", "æ": "ae", "đ": "d", "ł": "l", "ə": "e"})


def slugify(text: str) -> str:
    """Lowercase ASCII slug: 'Kazakhstan floods, 2024' -> 'kazakhstan-floods-2024'."""
    text = text.lower().translate(_TRANSLITERATE)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


_CLEAN_TAG_RE = re.compile(r"[a-z0-9][a-z0-9:._-]*")
_COLON_RE = re.compile(r"\s*:\s*")
_SPACES_RE = re.compile(r"\s+")


def normalize_tag(tag: str) -> str:
    """Lowercase, trimmed, inner spaces to hyphens; a namespace prefix is kept."""
    if _CLEAN_TAG_RE.fullmatch(tag):
        return tag
    return _SPACES_RE.sub("-", _COLON_RE.sub(":", tag.strip().lower()))


def check_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            f"'{value}' is not a slug: use lowercase letters, digits and single hyphens"
            f" (e.g. '{slugify(value) or 'my-article'}')"
        )
    return value


_HTTP_URL_RE = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?", re.IGNORECASE)


def check_http_url(value: str) -> str:
    value = value.strip()
    if found := CONTROL_CHARS_RE.search(value):
        # Removing it would silently change where the link goes: the editor must look.
        raise ValueError(f"a URL may not contain the invisible character {char_name(found.group())}")
    if not _HTTP_URL_RE.fullmatch(value):
        if any(c.isspace() for c in value):
            raise ValueError("a URL may not contain spaces or newlines")
        raise ValueError(
            f"'{value[:80]}' is not an absolute http(s) URL: write it in full, like https://example.com/page"
        )
    return value


def normalize_tags(value: object) -> object:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(
            'tags must be a list of strings, like tags = ["climate", "region:central-asia"]'
        )
    seen: dict[str, None] = {}
    for tag in value:
        if norm := normalize_tag(CONTROL_CHARS_RE.sub("", tag)):
            seen[norm] = None
    return tuple(seen)


_NOT_ONE_LINE_RE = re.compile(f"[{CONTROL_CHARS}\t\n\r]|[^\\S ]| {{2}}")


def char_name(char: str) -> str:
    """'U+202E (RIGHT-TO-LEFT OVERRIDE)': how a message names an invisible character."""
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'a control character')})"


def one_line(value: str) -> str:
    """Titles are single-line text: newlines and control characters become spaces, and
    bidirectional controls are removed."""
    if not _NOT_ONE_LINE_RE.search(value):
        return value.strip()
    return re.sub(r"\s+", " ", CONTROL_CHARS_RE.sub(" ", BIDI_CHARS_RE.sub("", value))).strip()


def strip_control(value: str) -> str:
    # Stripped again afterwards: the ends may be whitespace that a control character hid.
    return CONTROL_CHARS_RE.sub("", value).strip()


def check_day(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{value} is out of range: write a day between {EARLIEST} and {LATEST}")
    return value


# How repr() writes the characters of CONTROL_CHARS_RE: a fast first look over a whole record.
_REPR_CONTROL_RE = re.compile(
    r"\\x(?:0[0-8bcef]|1[0-9a-f]|7f|[89][0-9a-f])|\\uffff|\\ufffe|\\u202[89a-e]|\\u206[6-9]"
)


def control_char_paths(data: object, path: str = "") -> tuple[str, ...]:
    """Dotted paths ('articles.2.title') of raw string values holding XML-incompatible characters."""
    if not path and not _REPR_CONTROL_RE.search(repr(data)):
        return ()
    if isinstance(data, str):
        return (path,) if CONTROL_CHARS_RE.search(data) else ()
    if isinstance(data, dict):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list | tuple):
        items = [(str(i), v) for i, v in enumerate(data)]
    else:
        return ()
    return tuple(p for k, v in items for p in control_char_paths(v, f"{path}.{k}" if path else k))


Slug = Annotated[str, AfterValidator(check_slug)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
Tags = Annotated[tuple[str, ...], BeforeValidator(normalize_tags)]
Line = Annotated[str, AfterValidator(one_line), Field(min_length=1)]
Text = Annotated[str, AfterValidator(strip_control)]
Day = Annotated[date, AfterValidator(check_day)]


# Which fields a record was given: one shared set per combination (pydantic keeps a set per
# record, 700 bytes each, 100 MB at 75,000 articles with their images). Never mutated in
# place: pydantic copies it before a model_copy(update=...) changes it.
_GIVEN: dict[tuple[type, int], set[str]] = {}
_set = object.__setattr__


class Record(BaseModel):
    """A record compacts itself when made or unpickled: its REPEATED fields (strings) and
    REPEATED_TUPLES (of strings): tags, sources, categories, a few hundred values over an
    archive, are interned, so an archive holds each such string once; and its set of given
    fields is shared. It pickles as a dict of its values and that set as a bit mask (the
    workspace cache: 119,000 records unpickled by every command at 5,000 issues); unpickled,
    its values are set one by one, into a dict that shares its keys with its class's."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
    REPEATED: ClassVar[tuple[str, ...]] = ()
    REPEATED_TUPLES: ClassVar[tuple[str, ...]] = ()
    NAMES: ClassVar[tuple[str, ...]] = ()  # the fields, in order

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.NAMES = tuple(cls.model_fields)

    def model_post_init(self, context: Any, /) -> None:
        given = self.__pydantic_fields_set__
        mask = sum(1 << n for n, name in enumerate(self.NAMES) if name in given)
        _compact(self, self.__dict__, mask, self.__pydantic_private__)

    def __reduce__(self) -> tuple[Any, ...]:
        # Its values as a dict: the unpickler builds it in C, each field name written once
        # per pickle (a zip() into a dict per record was a third of restoring one).
        given = self.__pydantic_fields_set__
        mask = sum(1 << n for n, name in enumerate(self.NAMES) if name in given)
        return _restored, (type(self), dict(self.__dict__), mask, self.__pydantic_private__)


def _restored(cls: type[Record], values: dict[str, Any], mask: int, private: dict[str, Any] | None) -> Record:
    """A pickled record, as it was made (see Record.__reduce__)."""
    if len(values) != len(cls.NAMES):  # the cache's salt covers this file: never, but cheap
        raise ValueError(f"not the fields of {cls.__name__}")
    record = object.__new__(cls)
    _compact(record, values, mask, private, restored=True)
    return record


def _compact(
    record: Record, values: dict[str, Any], mask: int, private: dict[str, Any] | None, restored: bool = False
) -> None:
    cls = type(record)
    for name in cls.REPEATED:
        values[name] = intern(values[name])
    for name in cls.REPEATED_TUPLES:
        values[name] = tuple(map(intern, values[name]))
    if restored:  # set one by one into a record with no __dict__ yet: a dict sharing its
        for name, value in values.items():  # keys with the class's (PEP 412), 550 -> 210 bytes
            _set(record, name, value)
    else:
        _set(record, "__dict__", values)
    given = _GIVEN.get((cls, mask))
    if given is None:
        given = _GIVEN[cls, mask] = {name for n, name in enumerate(cls.NAMES) if mask >> n & 1}
    _set(record, "__pydantic_fields_set__", given)
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", private)


class Image(Record):
    url: HttpUrl
    alt: Annotated[str, AfterValidator(one_line)] = ""
    credit: Annotated[str, AfterValidator(one_line)] = ""
    width: Annotated[PositiveInt, Field(le=10_000)] | None = None
    height: Annotated[PositiveInt, Field(le=10_000)] | None = None
    REPEATED = ("credit",)


class Article(Record):
    id: Slug = ""
    title: Line
    url: HttpUrl
    published: Day
    category: Annotated[str, AfterValidator(one_line)] = ""
    tags: Tags = ()
    summary: Text = ""
    note: Annotated[str, AfterValidator(one_line)] = ""  # a compact item's one line
    source: Annotated[str, AfterValidator(one_line)] = ""
    author: Annotated[str, AfterValidator(one_line)] = ""
    image: Image | None = None
    popularity: Annotated[NonNegativeInt, Field(le=2**63 - 1)] | None = None
    REPEATED = ("category", "source", "author")
    REPEATED_TUPLES = ("tags",)

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_url(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            if data.get("id") and data.get("source"):
                return data
            parts = urlsplit(data["url"].strip())
            if not data.get("id"):
                data = {**data, "id": slugify(parts.path) or slugify(parts.netloc)}
            if not data.get("source"):
                data = {**data, "source": parts.netloc.removeprefix("www.")}
        return data


class Issue(Record):
    id: Slug
    title: Line
    date: Day
    status: Literal["draft", "published"] = "draft"
    # The day a published issue was last really changed (a correction): feeds show it as updated.
    updated: Day | None = None
    intro: Text = ""
    preheader: Annotated[str, AfterValidator(one_line)] = ""
    number: Annotated[PositiveInt, Field(le=1_000_000)] | None = None
    pin: dict[str, tuple[Slug, ...]] = Field(default_factory=dict)
    exclude: tuple[Slug, ...] = ()
    content_hash: str = ""
    # Stored by `publish`: the pick rules the issue went out with (publisher/digest/picks.py).
    rules_version: PositiveInt | None = None
    # A fresh draft (`publisher new`) has no articles yet; a published issue needs one.
    articles: tuple[Article, ...] = ()

    @model_validator(mode="after")
    def _published_has_articles(self) -> Issue:
        if self.is_published and not self.articles:
            raise ValueError("a published issue needs at least one article: add an [[articles]] table")
        return self

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def sort_key(self) -> tuple[dt.date, str]:
        """Issues are ordered by date, then id: 'later' always means a larger key."""
        return (self.date, self.id)

    @property
    def lead(self) -> Article:
        return self.articles[0]

    # Fields whose control characters loading removed, so validate can warn about each.
    _stripped: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _note_control_chars(cls, data: object, handler: ModelWrapValidatorHandler[Issue]) -> Issue:
        issue = handler(data)
        issue._stripped = control_char_paths(data)
        return issue

    @property
    def stripped_fields(self) -> tuple[str, ...]:
        """Raw paths ('articles.0.title') whose XML-incompatible characters were removed."""
        return self._stripped
