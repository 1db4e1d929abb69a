"""Related articles: for each article, the archive's articles that share its subject. Pure.

score = decay(age) x sum over shared tags of weight(tag) x rarity(tag), where
rarity = ln(1 + N / df) over the N articles of published issues before the issue, and
decay = 0.5 ** (age in days / half_life_days). Ties: score, then newer, then id.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import islice

from publisher.config import Related
from publisher.records import Article, Issue

Entry = tuple[Issue, Article]


@dataclass(frozen=True)
class RelatedPick:
    article: Article
    score: float
    shared_tags: tuple[str, ...]
    contributions: tuple[float, ...] = ()  # weight x rarity of each shared tag
    decay: float = 1.0


@dataclass(frozen=True)
class Term:
    """One tag of an article, as the scoring sees it for one issue."""

    tag: str
    weight: float
    df: int  # articles before the issue that carry it
    rarity: float
    dropped: str = ""  # why it does not count, if it does not

    @property
    def value(self) -> float:
        return self.weight * self.rarity


def tag_weight(rules: Related, tag: str) -> float:
    """The exact tag's weight, else the most specific matching glob's, else 1."""
    if tag in rules.weights:
        return rules.weights[tag]
    found = [
        (len(pattern.strip("*?")), -n, weight)
        for n, (pattern, weight) in enumerate(rules.weights.items())
        if fnmatchcase(tag, pattern)
    ]
    return max(found)[2] if found else 1.0


def half_life_decay(rules: Related, issue: Issue, article: Article) -> float:
    if not rules.half_life_days:
        return 1.0
    age = max(0, (issue.date - article.published).days)
    return 0.5 ** (age / rules.half_life_days)


class RelatedIndex:
    """An inverted index tag -> positions of articles of published issues, in issue order.

    Because positions follow issue order, 'before this issue' is a prefix of every posting
    list: document frequencies and candidates as of any issue come from a bisect, so a
    published issue scores exactly as it did when it went out, whatever is added later.
    """

    def __init__(self, archive: Iterable[Entry], rules: Related) -> None:
        self.rules = rules
        entries = sorted((e for e in archive if e[0].is_published), key=lambda e: e[0].sort_key)
        self.issues = [i for i, _ in entries]
        self.articles = [a for _, a in entries]
        self.keys = [i.sort_key for i in self.issues]
        self.ordinals = [a.published.toordinal() for a in self.articles]
        self._weights: dict[str, float] = {}
        self.postings: dict[str, list[int]] = {}
        for n, article in enumerate(self.articles):
            for tag in article.tags:
                self.postings.setdefault(tag, []).append(n)
        for tag in [t for t in self.postings if not self.weight(t)]:
            del self.postings[tag]

    def weight(self, tag: str) -> float:
        """A tag's weight; 0 when ignored. Cached: globs are resolved once per tag."""
        if tag not in self._weights:
            ignored = any(fnmatchcase(tag, p) for p in self.rules.ignore)
            self._weights[tag] = 0.0 if ignored else tag_weight(self.rules, tag)
        return self._weights[tag]

    def cut(self, issue: Issue) -> int:
        """How many indexed articles belong to published issues before this one."""
        return bisect_left(self.keys, issue.sort_key)

    def terms(self, issue: Issue, article: Article) -> tuple[Term, ...]:
        """The article's tags in a fixed order, each with its weight, rarity and fate."""
        n = self.cut(issue)
        return tuple(self._term(tag, n) for tag in sorted(article.tags))

    def _term(self, tag: str, n: int) -> Term:
        weight = self.weight(tag)
        df = bisect_left(self.postings.get(tag, []), n)
        rarity = math.log1p(n / df) if self.rules.idf and df else 1.0
        dropped = ""
        if not weight:
            dropped = "ignored" if tag_weight(self.rules, tag) else "weight 0"
        elif not df:
            dropped = "no earlier article carries it"
        elif df > max(1.0, self.rules.max_tag_share * n):
            dropped = f"too common: on {df / n:.0%} of the archive > max_tag_share"
        return Term(tag, weight, df, rarity, dropped)

    def related_for(self, issue: Issue, article: Article) -> tuple[RelatedPick, ...]:
        """The article's related picks in this issue, from the inverted index."""
        terms = [t for t in self.terms(issue, article) if not t.dropped]
        raw: dict[int, float] = {}
        for term in terms:
            value = term.value
            for n in islice(self.postings[term.tag], term.df):
                raw[n] = raw.get(n, 0.0) + value
        return self.rank(issue, article, raw, terms)

    def scan_related_for(self, issue: Issue, article: Article) -> tuple[RelatedPick, ...]:
        """The same picks by scoring every earlier article: the reference for tests."""
        terms = [t for t in self.terms(issue, article) if not t.dropped]
        raw: dict[int, float] = {}
        for n in range(self.cut(issue)):
            tags = self.articles[n].tags
            shared = [t.value for t in terms if t.tag in tags]
            if shared:
                raw[n] = sum(shared, 0.0)
        return self.rank(issue, article, raw, terms)

    def rank(
        self, issue: Issue, article: Article, raw: dict[int, float], terms: Sequence[Term]
    ) -> tuple[RelatedPick, ...]:
        """Decay, threshold, order and diversity caps over raw scores by position."""
        ordered = sorted(self.scores(issue, raw))
        picks: list[RelatedPick] = []
        for _, _, _, n in ordered:
            if len(picks) >= self.rules.limit:
                break
            if self.blocked(article, self.articles[n], picks) is None:
                picks.append(self.pick(issue, n, terms))
        return tuple(picks)

    def scores(self, issue: Issue, raw: dict[int, float]) -> list[tuple[float, int, str, int]]:
        """(-score, -published, id, position) of every candidate at or over min_score."""
        decays: dict[int, float] = {}
        today, half_life = issue.date.toordinal(), self.rules.half_life_days
        out = []
        for n, value in raw.items():
            day = self.ordinals[n]
            if day not in decays:
                decays[day] = 0.5 ** (max(0, today - day) / half_life) if half_life else 1.0
            score = value * decays[day]
            if score >= self.rules.min_score:
                out.append((-score, -day, self.articles[n].id, n))
        return out

    def blocked(self, article: Article, other: Article, picks: Sequence[RelatedPick]) -> str | None:
        """Why a candidate may not join the picks so far (same URL, diversity), or None."""
        if other.url == article.url or any(p.article.url == other.url for p in picks):
            return "same URL as " + ("the article" if other.url == article.url else "a pick")
        cap = self.rules.max_per_source
        if cap and sum(p.article.source == other.source for p in picks) >= cap:
            return f"max_per_source = {cap}: source '{other.source}' is full"
        cap = self.rules.max_per_category
        if cap and sum(p.article.category == other.category for p in picks) >= cap:
            return f"max_per_category = {cap}: category '{other.category}' is full"
        return None

    def pick(self, issue: Issue, n: int, terms: Sequence[Term]) -> RelatedPick:
        other = self.articles[n]
        shared = [t for t in terms if t.tag in other.tags]
        decay = half_life_decay(self.rules, issue, other)
        score = sum((t.value for t in shared), 0.0) * decay
        tags, values = tuple(t.tag for t in shared), tuple(t.value for t in shared)
        return RelatedPick(other, score, tags, values, decay)

    def related_for_issue(self, issue: Issue) -> dict[str, tuple[RelatedPick, ...]]:
        return {a.id: self.related_for(issue, a) for a in issue.articles}
