"""Tag pages: every visible tag of the published archive, its articles and its feeds; a tag
with more articles than [site] tag_page_size lists the older ones on further pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil

from publisher.config import Config
from publisher.labels import internal_patterns, tag_label, tag_slugs, visible
from publisher.records import Article
from publisher.selection import IssueView


@dataclass(frozen=True)
class TagPage:
    tag: str
    slug: str
    label: str
    items: tuple[tuple[IssueView, Article], ...]  # newest issue first, editorial order within
    has_feed: bool  # a per-tag feed ([feeds] tags) lives in the same folder

    @property
    def folder(self) -> str:
        return f"tags/{self.slug}/"


@dataclass(frozen=True)
class ListingPage:
    """Page `number` of `count` of a tag's articles: the first in the tag's folder, the
    others in page/<number>/ under it, as Ghost lays them out."""

    tag: TagPage
    number: int
    count: int
    items: tuple[tuple[IssueView, Article], ...]  # this page's share of tag.items

    @property
    def folder(self) -> str:
        return page_folder(self.tag, self.number)

    @property
    def newer(self) -> str:
        """The folder of the page before (newer articles), or "" on the first."""
        return page_folder(self.tag, self.number - 1) if self.number > 1 else ""

    @property
    def older(self) -> str:
        """The folder of the page after (older articles), or "" on the last."""
        return page_folder(self.tag, self.number + 1) if self.number < self.count else ""


def page_folder(tag: TagPage, number: int) -> str:
    return tag.folder if number == 1 else f"{tag.folder}page/{number}/"


def tag_page_paths(tag: TagPage, size: int) -> list[str]:
    """The files of the tag's pages, first page first, without rendering them."""
    return [f"{page_folder(tag, n)}index.html" for n in range(1, ceil(len(tag.items) / size) + 1)]


def paginate(tag: TagPage, size: int) -> list[ListingPage]:
    """The tag's articles in pages of `size`, newest first: each article on exactly one page."""
    count = ceil(len(tag.items) / size)
    return [ListingPage(tag, n, count, tag.items[(n - 1) * size : n * size]) for n in range(1, count + 1)]


def tag_pages(config: Config, views: Sequence[IssueView]) -> list[TagPage]:
    """One page per visible tag of the published issues, ordered by label, then tag."""
    published = sorted((v for v in views if v.issue.is_published), key=lambda v: v.issue.sort_key)
    patterns = internal_patterns(config)
    tagged = [[visible(patterns, tuple(a.tags)) for a in v.issue.articles] for v in published]
    # Feed tags first, then by first appearance: a new tag never takes an older tag's slug.
    first = dict.fromkeys(t for tags in tagged for ts in tags for t in ts)
    found: dict[str, list[tuple[IssueView, Article]]] = {tag: [] for tag in first}
    # Newest issue first, each issue's articles in editorial order: no sort needed.
    for view, tags in zip(reversed(published), reversed(tagged), strict=True):
        for article, ts in zip(view.issue.articles, tags, strict=True):
            pair = (view, article)  # one tuple shared by the article's tag pages, not one each
            for tag in ts:
                found[tag].append(pair)
    slugs = tag_slugs([*config.feeds.tags, *found])
    pages = [
        TagPage(tag, slugs[tag], tag_label(config, tag), tuple(items), tag in config.feeds.tags)
        for tag, items in found.items()
    ]
    return sorted(pages, key=lambda p: (p.label.casefold(), p.tag))
