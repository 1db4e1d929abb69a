"""What each page's <head> says: canonical URL, description, the feeds it belongs to, link
previews (Open Graph, Twitter cards) and JSON-LD. Templates render it from a PageMeta."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from publisher.config import Config
from publisher.feeds.documents import ATOM_TYPE, RSS_TYPE
from publisher.feeds.jsonfeed import JSON_FILE, JSON_TYPE
from publisher.labels import feed_tag_slugs, tag_label
from publisher.records import Image
from publisher.selection import IssueView
from publisher.web.jsonld import default_image, issue_data, script_json, website_data

FORMATS = {
    "rss": ("feed.xml", RSS_TYPE, "RSS"),
    "atom": ("atom.xml", ATOM_TYPE, "Atom"),
    "json": (JSON_FILE, JSON_TYPE, "JSON Feed"),
}


@dataclass(frozen=True)
class FeedLink:
    title: str
    type: str
    href: str
    format: str  # "RSS", "Atom", "JSON Feed"


@dataclass(frozen=True)
class PageMeta:
    title: str
    description: str
    url: str  # canonical
    kind: str = "website"  # og:type
    image: Image | None = None
    feeds: tuple[FeedLink, ...] = ()
    jsonld: str = ""  # already escaped for a <script> element
    published: str = ""  # article:published_time
    prev_url: str = ""  # rel=prev and rel=next: the pages around this one of a paged listing
    next_url: str = ""


def feed_links(config: Config, folder: str, title: str) -> tuple[FeedLink, ...]:
    """The feed files of one folder, in the formats built."""
    base = config.newsletter.url
    return tuple(
        FeedLink(f"{title} ({label})", kind, f"{base}{folder}{name}", label)
        for fmt in config.feeds.formats
        for name, kind, label in [FORMATS[fmt]]
    )


def main_feeds(config: Config) -> tuple[FeedLink, ...]:
    return feed_links(config, "", config.newsletter.title)


def articles_feeds(config: Config) -> tuple[FeedLink, ...]:
    if not config.feeds.articles:
        return ()
    return feed_links(config, "articles/", f"{config.newsletter.title}: articles")


def tag_feeds(config: Config, tags: Sequence[str] | None = None) -> tuple[FeedLink, ...]:
    """The per-tag feeds of `tags` (all configured ones when None)."""
    title = config.newsletter.title
    return tuple(
        link
        for tag, slug in feed_tag_slugs(config).items()
        if tags is None or tag in tags
        for link in feed_links(config, f"tags/{slug}/", f"{title}: {tag_label(config, tag)}")
    )


def first_image(config: Config, images: Sequence[Image | None]) -> Image | None:
    return next((i for i in images if i), None) or default_image(config)


def index_meta(config: Config) -> PageMeta:
    news = config.newsletter
    return PageMeta(
        title=news.title,
        description=news.description or news.title,
        url=news.url,
        image=default_image(config),
        feeds=main_feeds(config) + articles_feeds(config),
        jsonld=script_json(website_data(config)),
    )


def issue_meta(view: IssueView) -> PageMeta:
    config, issue = view.config, view.issue
    carried = {t for a in issue.articles for t in a.tags}
    return PageMeta(
        title=issue.title,
        description=view.preheader or issue.title,
        url=view.web_url,
        kind="article",
        image=first_image(config, [a.image for a in issue.articles]),
        feeds=main_feeds(config) + tag_feeds(config, sorted(carried)),
        jsonld=script_json(issue_data(view)),
        published=issue.date.isoformat(),
    )


def page_meta(config: Config, folder: str, title: str, description: str,
              feeds: tuple[FeedLink, ...] = (), image: Image | None = None) -> PageMeta:
    """A page of the archive under `folder` (tag pages, the tags index, search)."""
    return PageMeta(
        title=title,
        description=description,
        url=config.newsletter.url + folder,
        image=image or default_image(config),
        feeds=main_feeds(config) + feeds,
    )
