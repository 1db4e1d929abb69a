"""Every list of one email, chosen in the order the email shows them. Pure.

rules_version 1 (issues published before it existed): each section and each article's
related list is chosen on its own, as they went out. rules_version 2 (what `publish`
stores now, and what drafts get): an article shown once, in the body, under an article or
in a section, is passed over by every later list, which takes its next match instead;
related picks are not repeated across the issue unless [related] allow_repeats = true.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from publisher.config import Config, Section
from publisher.digest import RULES_VERSION
from publisher.digest.groups import Group, group_articles
from publisher.links.normalize import normalize_url
from publisher.links.places import markdown_links
from publisher.records import Article, Issue
from publisher.related import RelatedIndex, RelatedPick, Skipped
from publisher.rules import SHOWN, SectionIndex, SectionPicks, Verdict

BLOCK = "Related from the archive"


def rules_version(issue: Issue, layout: str = "stories") -> int:
    """The stored version; else a published issue of the stories layout went out under
    version 1. The links and auto layouts are newer than version 2: no issue went out in
    them under version 1, so whatever they render follows the current rules."""
    if issue.rules_version is not None:
        return issue.rules_version
    return 1 if issue.is_published and layout == "stories" else RULES_VERSION


@lru_cache(maxsize=32768)
def link_key(url: str) -> str:
    """normalize_url, remembered: an article's link is keyed once as the issue's own, then
    again in every later issue that picks it (a third of a cold selection, unremembered)."""
    return normalize_url(url)


class Shown:
    """Where the email first shows each article, by id and by normalised URL."""

    def __init__(self) -> None:
        self._where: dict[str, str] = {}

    def add(self, article: Article, where: str) -> None:
        self._where.setdefault(article.id, where)
        self.add_url(article.url, where)

    def add_url(self, url: str, where: str) -> None:
        self._where.setdefault(link_key(url), where)

    def why(self, article: Article) -> str | None:
        where = self._where.get(article.id) or self._where.get(link_key(article.url))
        return f"{SHOWN} {where}" if where else None


@dataclass
class Picks:
    """One issue's picks, and for explain every candidate passed over and why."""

    groups: tuple[Group, ...] = ()
    related: dict[str, tuple[RelatedPick, ...]] = field(default_factory=dict)
    block: tuple[RelatedPick, ...] = ()
    walks: dict[str, tuple[Verdict, ...]] = field(default_factory=dict)
    skipped: dict[str, list[Skipped]] = field(default_factory=dict)  # list name -> skips
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # block -> pick -> article

    def sections(self, config: Config) -> tuple[SectionPicks, ...]:
        return tuple(
            SectionPicks(s, tuple(v.article for v in self.walks[s.name] if v.picked))
            for s in config.sections
        )


@dataclass
class Tally:
    """A related block's candidate: its summed score, and the article it scored highest with."""

    best: RelatedPick
    source: str
    total: float = 0.0

    def add(self, pick: RelatedPick, article_id: str) -> None:
        self.total += pick.score
        if pick.score > self.best.score:
            self.best, self.source = pick, article_id

    def rank(self) -> tuple[float, int, str]:
        return (-self.total, -self.best.article.published.toordinal(), self.best.article.id)


class Chooser:
    """Chooses one issue's lists in display order, keeping the ledger of what is shown."""

    def __init__(
        self, config: Config, index: RelatedIndex, sections: SectionIndex, issue: Issue, misses: int
    ) -> None:
        self.config, self.index, self.sections, self.issue = config, index, sections, issue
        self.misses = misses
        self.once = rules_version(issue, config.email.layout) >= 2
        self.shown = Shown()
        self.body = Shown()
        self.picks = Picks()

    def choose(self) -> Picks:
        layout = self.config.email.layout
        for ledger in (self.shown, self.body):
            self.register_body(ledger)
        if layout == "stories":
            for article in self.issue.articles:
                self.picks.related[article.id] = self.related(article)
        else:
            self.picks.groups = tuple(self.grouped(g) for g in self.layout_groups(layout))
            if self.config.layout.related == "issue":
                compact = [i.article for g in self.picks.groups for i in g.items if i.compact]
                self.picks.block = self.block(compact, "block", f"in '{BLOCK}'")
        for section in self.config.sections:
            self.picks.walks[section.name] = tuple(self.walk_section(section))
        return self.picks

    def register_body(self, ledger: Shown) -> None:
        """The issue's own articles, and what its intro and summaries link to."""
        for url in markdown_links(self.issue.intro):
            ledger.add_url(url, "in this issue (linked in the intro)")
        for n, article in enumerate(self.issue.articles, 1):
            ledger.add(article, f"in this issue (article #{n}, '{article.id}')")
            for url in markdown_links(article.summary):
                ledger.add_url(url, f"in this issue (linked in the summary of '{article.id}')")

    def layout_groups(self, layout: str) -> tuple[Group, ...]:
        """The links layout's groups. Under version 2 an article whose link the issue
        has already is shown once, at its first place (check --links reports the repeat)."""
        articles, seen = [], Shown()
        for n, article in enumerate(self.issue.articles, 1):
            if self.once and (reason := seen.why(article)):
                self.picks.skipped.setdefault("issue", []).append(Skipped(article, reason))
                continue
            seen.add_url(article.url, f"in this issue (article #{n}, '{article.id}')")
            articles.append(article)
        return group_articles(articles, layout, self.config.layout)

    def skip(self, related: bool) -> Shown | None:
        if not self.once:
            return None
        return self.body if related and self.config.related.allow_repeats else self.shown

    def related(self, article: Article) -> tuple[RelatedPick, ...]:
        """An article's own list, shown under it."""
        ledger, skipped = self.skip(related=True), self.picks.skipped.setdefault(article.id, [])
        picks = self.index.related_for(self.issue, article, ledger.why if ledger else None, skipped)
        for pick in picks:
            self.shown.add(pick.article, f"under article '{article.id}'")
        return picks

    def grouped(self, group: Group) -> Group:
        for item in group.items:
            if not item.compact:
                self.picks.related[item.article.id] = self.related(item.article)
        if self.config.layout.related != "group":
            return group
        compact = [i.article for i in group.items if i.compact]
        where = f"in '{BLOCK}' under '{group.heading or 'Other'}'"
        return Group(
            group.heading, group.items, self.block(compact, f"block:{group.heading}", where)
        )

    def block(self, articles: list[Article], name: str, where: str) -> tuple[RelatedPick, ...]:
        """One block for many articles: the archive's articles most related to them all.

        Each article's own list is chosen as usual; a candidate's block score is the sum of
        its scores over the articles it was picked for (then newer, then id). It is shown
        as picked for the article it scored highest with."""
        tallies: dict[str, Tally] = {}
        for article in articles:
            for pick in self.own_list(article):
                tally = tallies.setdefault(pick.article.id, Tally(pick, article.id))
                tally.add(pick, article.id)
        passed = [s for a in articles for s in self.picks.skipped[a.id]]
        self.picks.skipped[name] = list({s.article.id: s for s in passed}.values())
        chosen = sorted(tallies.values(), key=Tally.rank)[: self.config.layout.related_limit]
        self.picks.sources[name] = {t.best.article.id: t.source for t in chosen}
        for tally in chosen:
            self.shown.add(tally.best.article, where)
        return tuple(t.best for t in chosen)

    def own_list(self, article: Article) -> tuple[RelatedPick, ...]:
        """A compact article's related list: not shown under it, it feeds its block."""
        ledger, skipped = self.skip(related=True), self.picks.skipped.setdefault(article.id, [])
        found = self.index.related_for(self.issue, article, ledger.why if ledger else None, skipped)
        self.picks.related[article.id] = found
        return found

    def walk_section(self, section: Section) -> Iterator[Verdict]:
        ledger = self.shown if self.once else None
        for verdict in self.sections.walk(
            section, self.issue, self.misses, ledger.why if ledger else None
        ):
            if verdict.picked:
                title = section.title or section.name
                self.shown.add(verdict.article, f"in section '{title}'")
            yield verdict


def choose_picks(
    config: Config, index: RelatedIndex, sections: SectionIndex, issue: Issue, misses: int = 0
) -> Picks:
    """The issue's lists: what the email shows, and what each list passed over."""
    return Chooser(config, index, sections, issue, misses).choose()
