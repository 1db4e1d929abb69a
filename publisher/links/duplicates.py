"""Links an issue repeats: from its own articles, or from the last N issues before it. Pure."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from publisher.errors import Problem
from publisher.links.normalize import normalize_url
from publisher.links.places import article_record
from publisher.records import Issue


def earlier_links(issues: Sequence[Issue], issue: Issue, window: int) -> dict[str, str]:
    """normalised URL -> "issue 2024-15 (article 'x')", over the `window` issues before it."""
    before = [i for i in issues if i.sort_key < issue.sort_key][-window:]
    found: dict[str, str] = {}
    for other in reversed(before):  # the most recent first: the one the editor remembers
        for article in other.articles:
            found.setdefault(
                normalize_url(article.url), f"issue {other.id} (article '{article.id}')"
            )
    return found


def duplicate_problems(issues: Sequence[Issue], issue: Issue, window: int) -> Iterator[Problem]:
    """Each article whose link, normalised, is already in this issue or in the window."""
    file = f"issues/{issue.id}.toml"
    earlier = earlier_links(issues, issue, window)
    here: dict[str, str] = {}
    for n, article in enumerate(issue.articles, 1):
        key = normalize_url(article.url)
        where = here.get(key) or earlier.get(key)
        if where:
            yield Problem(
                file,
                f"{article.url} repeats the link of {where} (compared as {key})",
                article_record(n, article.id),
                "url",
                "remove the article, or link to something new",
            )
        here.setdefault(key, f"this issue (article '{article.id}')")
