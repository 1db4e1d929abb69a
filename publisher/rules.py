"""Sections: pick articles for an issue by tag rules. Pure: no files, no network."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase
from itertools import accumulate

from publisher.config import Match, Related, Section
from publisher.errors import Problem
from publisher.records import Article, Issue
from publisher.related import published_in_order

Entry = tuple[Issue, Article]
OrderKey = tuple[int | str, ...]
Skip = Callable[[Article], str | None]  # why an article may not be shown again, or None
PICKED = "picked"
SHOWN = "already shown"


@dataclass(frozen=True)
class SectionPicks:
    section: Section
    articles: tuple[Article, ...]

    @property
    def title(self) -> str:
        return self.section.title or self.section.name.replace("-", " ").capitalize()


@dataclass(frozen=True)
class Verdict:
    """One article a section considered, and why it was shown or not."""

    article: Article
    issue: Issue
    reason: str

    @property
    def picked(self) -> bool:
        return self.reason.startswith(PICKED)


def _has(tags: Sequence[str], pattern: str) -> bool:
    return any(fnmatchcase(tag, pattern) for tag in tags)


def matches(article: Article, match: Match) -> bool:
    tags = article.tags
    category = article.category.lower()
    return (
        (not match.any or any(_has(tags, p) for p in match.any))
        and all(_has(tags, p) for p in match.all)
        and not any(_has(tags, p) for p in match.none)
        and (
            not match.categories or any(fnmatchcase(category, c.lower()) for c in match.categories)
        )
    )


def matching_rule(article: Article, section: Section) -> int | None:
    """The number (from 1) of the section's first match the article meets, or None."""
    return next((n for n, m in enumerate(section.matches, 1) if matches(article, m)), None)


class Matcher:
    """matches() for a whole archive: each distinct tag and category is tried against each
    pattern once, then an article is a few set lookups (100,000 articles, a few thousand tags)."""

    def __init__(self, match: Match, tags: set[str], categories: set[str]) -> None:
        def hits(patterns: Iterable[str]) -> list[frozenset[str]]:
            return [frozenset(t for t in tags if fnmatchcase(t, p)) for p in patterns]

        self.any = frozenset().union(*hits(match.any)) if match.any else None
        self.all = hits(match.all)
        self.none = frozenset().union(*hits(match.none))
        wanted = [c.lower() for c in match.categories]
        self.categories = (
            frozenset(c for c in categories if any(fnmatchcase(c, p) for p in wanted))
            if wanted
            else None
        )

    def __call__(self, article: Article) -> bool:
        tags = article.tags
        return (
            (self.any is None or not self.any.isdisjoint(tags))
            and all(not found.isdisjoint(tags) for found in self.all)
            and self.none.isdisjoint(tags)
            and (self.categories is None or article.category.lower() in self.categories)
        )


class SectionMatcher:
    """Whether matching_rule finds a match, from Matchers of the tags and categories of an
    archive; an article carrying one the archive has not (a draft's) is tried the slow way."""

    def __init__(self, section: Section, tags: set[str], categories: set[str]) -> None:
        self.section, self.tags, self.categories = section, tags, categories
        self.rules = [Matcher(m, tags, categories) for m in section.matches]

    def __call__(self, article: Article) -> bool:
        if self.tags.issuperset(article.tags) and article.category.lower() in self.categories:
            return any(rule(article) for rule in self.rules)
        return matching_rule(article, self.section) is not None


def archive_terms(articles: Sequence[Article]) -> tuple[set[str], set[str]]:
    """Every tag, and every category (lowercased), of the articles."""
    return set().union(*(a.tags for a in articles)), {a.category.lower() for a in articles}


def matched_positions(section: Section, articles: Sequence[Article]) -> list[int]:
    """The positions of the articles that meet one of the section's matches: the same as
    `[n for n, a in enumerate(articles) if matching_rule(a, section)]`, only faster."""
    matcher = SectionMatcher(section, *archive_terms(articles))
    return [n for n, a in enumerate(articles) if matcher(a)]


def describe_match(match: Match) -> str:
    parts = [f"{key}={list(getattr(match, key))}" for key in ("any", "all", "none", "categories")]
    return ", ".join(p for p in parts if not p.endswith("=[]")) or "every article"


@dataclass(frozen=True)
class Matched:
    """One section's matching positions: in archive order, and in the section's order."""

    positions: list[int]  # ascending, i.e. in issue order
    latest: list[int]  # running maximum of their published days
    by_order: list[int]
    keys: dict[int, OrderKey]


class SectionIndex:
    """Each section's matching articles of published issues, matched once per build.

    An issue then reads only what it may show: with max_age_days, the window of recent
    positions (found by bisecting the running maximum of published days); otherwise the
    section's ordered list, stopping at the limit.
    """

    def __init__(self, sections: Sequence[Section], archive: Iterable[Entry]) -> None:
        groups = published_in_order(archive)
        self.keys = [issue.sort_key for issue, _ in groups]
        self.starts = list(accumulate((len(a) for _, a in groups), initial=0))
        self.entries = [(issue, a) for issue, articles in groups for a in articles]
        self.rank = {issue.id: n for n, (issue, _) in enumerate(groups)}
        self.days = [a.published.toordinal() for _, a in self.entries]
        self.by_id = {a.id: (i, a) for i, a in self.entries}
        terms = archive_terms([a for _, a in self.entries])
        self.matchers = {s.name: SectionMatcher(s, *terms) for s in sections}
        self.matched = {s.name: self._matched(s) for s in sections}

    def _matched(self, section: Section) -> Matched:
        matcher = self.matchers[section.name]
        positions = [n for n, (_, a) in enumerate(self.entries) if matcher(a)]
        keys = {
            n: order_key(section, *self.entries[n], self.rank[self.entries[n][0].id])
            for n in positions
        }
        latest = list(accumulate((self.days[n] for n in positions), max))
        return Matched(positions, latest, sorted(positions, key=keys.__getitem__), keys)

    def _ordered(self, section: Section, issue: Issue) -> list[tuple[OrderKey, Entry]]:
        """The issue's own matching articles; they rank above every other issue's."""
        matcher = self.matchers.get(section.name)
        own = [a for a in issue.articles
               if (matcher(a) if matcher is not None else matching_rule(a, section) is not None)]
        return sorted((order_key(section, issue, a, len(self.rank)), (issue, a)) for a in own)

    def _others(self, section: Section, issue: Issue) -> Iterator[tuple[OrderKey, Entry]]:
        """Matching articles of earlier published issues, in the section's order."""
        if section.scope == "issue":
            return
        m, end = self.matched[section.name], self.starts[bisect_left(self.keys, issue.sort_key)]
        if section.max_age_days is None:
            yield from ((m.keys[n], self.entries[n]) for n in m.by_order if n < end)
            return
        oldest = (issue.date - timedelta(days=section.max_age_days)).toordinal()
        stop = bisect_left(m.positions, end)
        window = m.positions[bisect_left(m.latest, oldest, 0, stop) : stop]
        yield from sorted((m.keys[n], self.entries[n]) for n in window if self.days[n] >= oldest)

    def select(self, section: Section, issue: Issue) -> SectionPicks:
        """The articles a section shows in one issue: pins first, then the rule's order."""
        picks = (v.article for v in self.walk(section, issue) if v.picked)
        return SectionPicks(section, tuple(picks))

    def walk(
        self, section: Section, issue: Issue, misses: int = 0, skip: Skip | None = None
    ) -> Iterator[Verdict]:
        """The articles considered, in order: every pick and then up to `misses` others.

        `skip` (rules_version 2) names articles the email shows already: each is passed
        over for the next match, and always reported, whatever `misses` says."""
        shown = 0
        for issue_of, article, reason in self._candidates(section, issue, skip):
            if reason is None and shown >= section.limit:
                reason = f"beyond the limit of {section.limit}"
            if reason is None:
                shown += 1
                yield Verdict(article, issue_of, PICKED)
            elif reason.startswith(SHOWN):
                yield Verdict(article, issue_of, reason)
            elif misses > 0:
                misses -= 1
                yield Verdict(article, issue_of, reason)
            if misses <= 0 and shown >= section.limit:
                return

    def _candidates(
        self, section: Section, issue: Issue, skip: Skip | None = None
    ) -> Iterator[tuple[Issue, Article, str | None]]:
        seen: set[str] = set()
        for issue_of, article in self._pinned(section, issue):
            if article.id not in seen and article.url not in seen:
                reason = skip(article) if skip else None
                if reason is None:
                    seen.update((article.id, article.url))
                yield issue_of, article, reason
        merged = heapq.merge(self._ordered(section, issue), self._others(section, issue))
        for _, (issue_of, article) in merged:
            if article.id in seen or article.url in seen:
                continue
            reason = rejection(section, issue, issue_of, article)
            if reason is None and skip:
                reason = skip(article)
            if reason is None:
                seen.update((article.id, article.url))
            yield issue_of, article, reason

    def _pinned(self, section: Section, issue: Issue) -> Iterator[Entry]:
        own = {a.id: (issue, a) for a in issue.articles}
        for article_id in issue.pin.get(section.name, ()):
            entry = own.get(article_id) or self.by_id.get(article_id)
            if entry and (entry[0].id == issue.id or entry[0].sort_key < issue.sort_key):
                yield entry


def order_key(section: Section, issue: Issue, article: Article, rank: int) -> OrderKey:
    """The section's order, then a fixed tie-break: published date (newest first), then id."""
    newest = (-article.published.toordinal(), article.id)
    if section.order == "oldest":
        return (article.published.toordinal(), article.id)
    if section.order == "popular":
        popularity = -1 if article.popularity is None else article.popularity
        return (-popularity, *newest)
    if section.order == "editorial":
        position = next(n for n, a in enumerate(issue.articles) if a.id == article.id)
        return (-rank, position, *newest)
    return newest


def rejection(section: Section, issue: Issue, issue_of: Issue, article: Article) -> str | None:
    """Why a matching article may not be shown in this issue, or None if it may."""
    same = issue_of.id == issue.id
    if not same and issue_of.sort_key > issue.sort_key:
        return "from a later issue"
    if section.scope == "issue" and not same:
        return "from an earlier issue (scope = issue)"
    if same and section.exclude_issue_articles:
        return "in this issue (exclude_issue_articles)"
    if article.id in issue.exclude:
        return "excluded by the issue file"
    if section.max_age_days is not None:
        oldest = issue.date - timedelta(days=section.max_age_days)
        if article.published < oldest:
            return f"older than max_age_days = {section.max_age_days}"
    return None


def select_section(section: Section, issue: Issue, archive: Iterable[Entry]) -> SectionPicks:
    """The articles a section shows in one issue (published earlier issues and the issue)."""
    return SectionIndex([section], archive).select(section, issue)


def pin_problems(sections: Sequence[Section], archive: Sequence[Entry]) -> Iterator[Problem]:
    """Pins must name a section and an article of the issue or of an earlier published one."""
    known = {a.id: i for i, a in archive}
    names = [s.name for s in sections]
    issues = {i.id: i for i, _ in archive}.values()
    for issue in issues:
        file = f"issues/{issue.id}.toml"
        for name, ids in issue.pin.items():
            if name not in names:
                hint = "sections in config.toml: " + (", ".join(names) or "none")
                yield Problem(file, f"no section '{name}' to pin to", "issue", f"pin.{name}", hint)
            for article_id in ids:
                if reason := _pin_fault(issue, known.get(article_id)):
                    msg = f"pinned article '{article_id}' {reason}"
                    hint = "pin an article of this issue or of an earlier published one"
                    yield Problem(file, msg, "issue", f"pin.{name}", hint)


def _pin_fault(issue: Issue, issue_of: Issue | None) -> str:
    if issue_of is None:
        return "is not in the archive"
    if issue_of.id != issue.id and issue_of.sort_key > issue.sort_key:
        return f"is from a later issue ({issue_of.id})"
    if issue_of.id != issue.id and not issue_of.is_published:
        return f"is from an unpublished issue ({issue_of.id})"
    return ""


def empty_section_problems(
    sections: Sequence[Section], archive: Sequence[Entry]
) -> Iterator[Problem]:
    """A section that shows nothing in an issue is most likely a rule or a tag gone wrong."""
    index = SectionIndex(sections, archive)
    for issue in {i.id: i for i, _ in archive}.values():
        for section in sections:
            # The first issue has no archive yet: a section fed only by it is empty by design.
            first = index.starts[bisect_left(index.keys, issue.sort_key)] == 0
            if first and section.scope == "archive" and section.exclude_issue_articles:
                continue
            if section.limit and not index.select(section, issue).articles:
                yield Problem(
                    f"issues/{issue.id}.toml",
                    f"section '{section.name}' comes out empty for this issue",
                    "issue",
                    hint=f"run 'publisher explain {issue.id}' to see what its rule considered",
                    severity="warning",
                )


def pattern_problems(
    sections: Sequence[Section], related: Related, archive: Sequence[Entry]
) -> Iterator[Problem]:
    """Tags and globs of the rules that match no tag in the archive: likely typos."""
    tags = {t for _, a in archive for t in a.tags}
    categories = {a.category.lower() for _, a in archive}
    for n, section in enumerate(sections, 1):
        record = f"[[sections]] #{n} '{section.name}'"
        for match in section.matches:
            yield from _unmatched(record, "match", match.patterns(), tags)
            cats = tuple(c.lower() for c in match.categories)
            yield from _unmatched(record, "match.categories", cats, categories)
    yield from _unmatched("[related]", "weights", tuple(related.weights), tags)
    yield from _unmatched("[related]", "ignore", related.ignore, tags)


def _unmatched(
    record: str, field: str, patterns: tuple[str, ...], known: set[str]
) -> Iterator[Problem]:
    for pattern in patterns:
        if not any(fnmatchcase(value, pattern) for value in known):
            yield Problem(
                "config.toml",
                f"'{pattern}' matches nothing in the archive",
                record,
                field,
                "check the spelling against the articles' tags and categories",
                "warning",
            )
