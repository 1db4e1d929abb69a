"""Sections: pick articles for an issue by tag rules. Pure: no files, no network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from publisher.config import Match, Section
from publisher.records import Article, Issue


@dataclass(frozen=True)
class SectionPicks:
    section: Section
    articles: tuple[Article, ...]

    @property
    def title(self) -> str:
        return self.section.title or self.section.name.replace("-", " ").capitalize()


def _has(tags: Sequence[str], pattern: str) -> bool:
    return any(fnmatchcase(tag, pattern) for tag in tags)


def matches(article: Article, match: Match) -> bool:
    tags = article.tags
    return (
        (not match.any or any(_has(tags, p) for p in match.any))
        and all(_has(tags, p) for p in match.all)
        and not any(_has(tags, p) for p in match.none)
        and (
            not match.categories
            or article.category.lower() in {c.lower() for c in match.categories}
        )
    )


def select_section(
    section: Section, issue: Issue, archive: Sequence[tuple[Issue, Article]]
) -> SectionPicks:
    """The articles a section shows in one issue (first honest level: no pins, no age limit)."""
    if section.scope == "issue":
        pool = [(issue, a) for a in issue.articles]
    else:
        pool = [(i, a) for i, a in archive if i.sort_key <= issue.sort_key]
    if section.exclude_issue_articles:
        pool = [(i, a) for i, a in pool if i.id != issue.id]
    picked = [a for _, a in pool if any(matches(a, m) for m in section.matches)]
    if section.order == "newest":
        picked.sort(key=lambda a: (a.published, a.id), reverse=True)
    elif section.order == "oldest":
        picked.sort(key=lambda a: (a.published, a.id))
    elif section.order == "popular":
        picked.sort(key=lambda a: (-(a.popularity or 0), a.published, a.id))
    return SectionPicks(section, tuple(picked[: section.limit]))


def select_sections(
    sections: Sequence[Section], issue: Issue, archive: Sequence[tuple[Issue, Article]]
) -> tuple[SectionPicks, ...]:
    return tuple(select_section(s, issue, archive) for s in sections)
