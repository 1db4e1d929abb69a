"""The links layout's shape: compact or story items, grouped under category headings. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from publisher.digest.config import Layout
from publisher.markup import first_sentence
from publisher.records import Article
from publisher.related import RelatedPick


@dataclass(frozen=True)
class Item:
    """One of the issue's articles as the links layout shows it."""

    article: Article
    compact: bool
    note: str = ""


@dataclass(frozen=True)
class Group:
    """A category heading, its items in editorial order, and its related block (per group)."""

    heading: str
    items: tuple[Item, ...]
    related: tuple[RelatedPick, ...] = ()


def is_compact(article: Article, layout: str) -> bool:
    """links: every article; auto: those with neither a summary nor an image; stories: none."""
    if layout == "links":
        return True
    return layout == "auto" and not article.summary and article.image is None


def note_for(article: Article, rules: Layout) -> str:
    """The article's own `note`, else its summary's first sentence when that is short."""
    if article.note or not article.summary:
        return article.note
    sentence = first_sentence(article.summary, limit=10_000)
    return sentence if len(sentence) <= rules.note_chars else ""


def group_order(articles: Sequence[Article], rules: Layout) -> list[str]:
    """Category headings: the configured ones first (as configured), the rest as first seen."""
    seen = list(dict.fromkeys(a.category for a in articles))
    rank = {c.lower(): n for n, c in enumerate(rules.categories)}
    configured = sorted((c for c in seen if c.lower() in rank), key=lambda c: rank[c.lower()])
    return configured + [c for c in seen if c.lower() not in rank]


def group_articles(articles: Sequence[Article], layout: str, rules: Layout) -> tuple[Group, ...]:
    """The issue's articles under their category headings, editorial order kept inside each."""
    groups = []
    for heading in group_order(articles, rules):
        items = tuple(
            Item(a, compact, note_for(a, rules) if compact else "")
            for a in articles
            if a.category == heading
            for compact in [is_compact(a, layout)]
        )
        groups.append(Group(heading, items))
    return tuple(groups)
