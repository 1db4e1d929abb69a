"""The template environment: the workspace's templates first, the built-in theme last."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)
from jinja2.bccache import Bucket

from publisher import names
from publisher.markup import first_sentence, markdown_html, markdown_text


def builtin_templates() -> Path:
    """The default theme: inside the installed package, or the repo's templates/ when run from source."""
    return names.builtin_templates()


@lru_cache(maxsize=4096)
def long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Wrap each paragraph near 72 columns; long URLs are never broken."""
    paragraphs = text.split("\n")
    return "\n".join(_fill(p, width, indent) if p.strip() else "" for p in paragraphs)


def _fill(paragraph: str, width: int, indent: str) -> str:
    if paragraph.isprintable():
        body = paragraph.lstrip(" ")
        lead, words = paragraph[: len(paragraph) - len(body)], body.split(" ")  # a list item's "  - "
        # textwrap keeps the spaces a paragraph starts with, on the first line, while that
        # line also holds the first word; words must be between single spaces, none after.
        if all(words) and (not lead or len(lead) + len(words[0]) <= width):
            words[0] = lead + words[0]
            return _greedy(words, width, indent)
    return textwrap.fill(
        paragraph, width=width, subsequent_indent=indent, break_long_words=False,
        break_on_hyphens=False,
    )


def _greedy(words: list[str], width: int, indent: str) -> str:
    """textwrap.fill's lines for words between single spaces (white space other than " "
    is not printable): a word joins the line if it fits, else starts the next one; a word
    longer than a line stands alone (break_long_words=False). Tests compare the two."""
    lines: list[str] = []
    line: list[str] = []
    length, room = 0, width
    for word in words:
        if line and length + 1 + len(word) > room:
            lines.append(" ".join(line))
            line, length, room = [], 0, width - len(indent)
        length += len(word) + (1 if line else 0)
        line.append(word)
    lines.append(" ".join(line))
    return ("\n" + indent).join(lines)


def add_params(url: str, params: Mapping[str, str]) -> str:
    """The URL with tracking parameters added; parameters it already has are kept."""
    if not params:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: v for k, v in params.items() if k not in query})
    return urlunsplit(parts._replace(query=urlencode(query)))


def tracking(params: Mapping[str, str]) -> Callable[[str], str]:
    """The utm filter: add_params with the newsletter's parameters, remembered per URL (an
    article's link is in the HTML and the text, and in every later issue that picks it)."""
    fixed = dict(params)

    @lru_cache(maxsize=8192)
    def remembered(url: str) -> str:
        return add_params(url, fixed)

    def utm(url: str) -> str:
        # Only plain str is remembered: a Markup equal to it must keep its own type.
        return remembered(url) if type(url) is str else add_params(url, fixed)

    return utm


class CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's compiled templates, kept between runs (compiling them was a fifth of a
    one-edit rebuild). Entries are checked against the template's source by Jinja; one that
    cannot be written (a full or read-only disk) is simply compiled again next time."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        self.folder = directory

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:  # unreadable, or no such folder (a loop of links): compiled afresh
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def make_environment(
    workspace_templates: Path | None, utm: Mapping[str, str] | None = None,
    compiled: Path | None = None,
) -> Environment:
    """User folder first, built-in theme last; '!theme/x.html' always names the built-in one.
    `compiled`: a folder where compiled templates are kept between runs."""
    builtin = FileSystemLoader(builtin_templates())
    loaders = [builtin, PrefixLoader({"!theme": builtin})]
    user = workspace_templates
    if user is not None and user.is_dir() and user.resolve() != builtin_templates().resolve():
        loaders.insert(0, FileSystemLoader(user))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=CompiledTemplates(compiled) if compiled is not None else None,
    )
    env.filters.update(
        markdown=markdown_html,
        markdown_text=markdown_text,
        first_sentence=first_sentence,
        long_date=long_date,
        wrap=wrap,
        utm=tracking(utm or {}),
    )
    return env
