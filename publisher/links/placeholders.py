"""Placeholder text left in an issue: TK, TODO, lorem ipsum, example.com. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator

from publisher.errors import Problem
from publisher.links.places import article_record
from publisher.records import Issue

# Editors' markers are capitals (TK, TODO): "tk" or "todo app" in a title is someone's words.
# Lorem ipsum and the reserved example domains are placeholders in any case.
PLACEHOLDER_RE = re.compile(
    r"(?<![\w-])(?:TK|TKTK|TODO|FIXME)(?![\w-])"
    r"|(?i:\blorem\s+ipsum\b)"
    r"|(?i:(?<![\w.-])example\.(?:com|org|net)\b)"
)


def found_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0) for m in PLACEHOLDER_RE.finditer(text)))


def placeholder_problems(issue: Issue) -> Iterator[Problem]:
    """Each field that still holds a placeholder, by file, record and field."""
    file = f"issues/{issue.id}.toml"
    texts = [("issue", "title", issue.title), ("issue", "intro", issue.intro)]
    texts += [("issue", "preheader", issue.preheader)]
    for n, a in enumerate(issue.articles, 1):
        record = article_record(n, a.id)
        texts += [
            (record, "title", a.title),
            (record, "summary", a.summary),
            (record, "note", a.note),
        ]
    for record, field, text in texts:
        if found := found_in(text):
            yield Problem(
                file,
                f"placeholder {', '.join(repr(f) for f in found)} left in the {field}",
                record,
                field,
                "write the real text before the issue goes out",
            )
