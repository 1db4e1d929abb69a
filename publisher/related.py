"""Related articles: for each article, the archive's articles that share its subject. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from publisher.config import Related
from publisher.records import Article, Issue


@dataclass(frozen=True)
class RelatedPick:
    article: Article
    score: float
    shared_tags: tuple[str, ...]


class RelatedIndex:
    """An inverted index tag -> archive entries (first honest level: shared-tag counts)."""

    def __init__(self, archive: Sequence[tuple[Issue, Article]], rules: Related) -> None:
        self.rules = rules
        self.entries = list(archive)
        self.by_tag: dict[str, list[int]] = defaultdict(list)
        for n, (_, article) in enumerate(self.entries):
            for tag in article.tags:
                if tag not in rules.ignore:
                    self.by_tag[tag].append(n)

    def related_for(self, issue: Issue, article: Article) -> tuple[RelatedPick, ...]:
        shared: dict[int, list[str]] = defaultdict(list)
        for tag in article.tags:
            for n in self.by_tag.get(tag, ()):
                shared[n].append(tag)
        picks = []
        for n, tags in shared.items():
            other_issue, other = self.entries[n]
            if other_issue.sort_key >= issue.sort_key or other.url == article.url:
                continue
            picks.append(RelatedPick(other, float(len(tags)), tuple(sorted(tags))))
        picks = [p for p in picks if p.score >= self.rules.min_score]
        picks.sort(key=lambda p: (-p.score, -p.article.published.toordinal(), p.article.id))
        return tuple(picks[: self.rules.limit])

    def related_for_issue(self, issue: Issue) -> dict[str, tuple[RelatedPick, ...]]:
        return {a.id: self.related_for(issue, a) for a in issue.articles}
