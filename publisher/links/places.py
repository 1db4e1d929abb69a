"""Where an issue links to: each URL with the file, the record and the field that hold it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from publisher.records import Issue

# Markdown links and autolinks in intros and summaries.
MARKDOWN_LINK_RE = re.compile(r"\]\((https?://[^)\s]+)\)|<(https?://[^>\s]+)>")


@dataclass(frozen=True)
class Place:
    url: str
    file: str
    record: str  # "issue" or "article #3 (id 'x')"
    field: str


def article_record(n: int, article_id: str) -> str:
    return f"article #{n} (id '{article_id}')"


def markdown_links(text: str) -> list[str]:
    return [a or b for a, b in MARKDOWN_LINK_RE.findall(text)]


def issue_links(issue: Issue) -> Iterator[Place]:
    """The article URLs first (what duplicates compare), then images and links in the text."""
    file = f"issues/{issue.id}.toml"
    for url in markdown_links(issue.intro):
        yield Place(url, file, "issue", "intro")
    for n, article in enumerate(issue.articles, 1):
        record = article_record(n, article.id)
        yield Place(article.url, file, record, "url")
        if article.image:
            yield Place(article.image.url, file, record, "image.url")
        for url in markdown_links(article.summary):
            yield Place(url, file, record, "summary")
