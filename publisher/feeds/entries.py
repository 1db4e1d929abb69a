"""What the feeds say, as plain data: entries, ids, dates and archive pages. No XML here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from publisher.config import Config
from publisher.markup import markdown_html, markdown_text
from publisher.records import CONTROL_CHARS_RE, Article, slugify
from publisher.selection import IssueView

# Issues go out at 08:00 in the newsletter's timezone; an issue's date never moves that hour.
SEND_TIME = time(8, 0)
# Only for a feed that has never had an entry: any fixed date keeps rebuilds identical.
EMPTY_FEED_DATE = date(2000, 1, 1)


def xml_text(value: str) -> str:
    # Loading already strips these (with a warning); config text and templates are cleaned
    # here too, because lxml refuses them with a ValueError and the whole build would fail.
    return CONTROL_CHARS_RE.sub("", value)


@lru_cache(maxsize=4096)
def clean_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """Tags as category terms: XML-safe (tags keep what loading does not strip)."""
    return tuple(t for t in (xml_text(term) for term in terms) if t)


@dataclass(frozen=True)
class Entry:
    """One feed entry; every text is XML-safe (no control characters)."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    summary: str  # plain text
    content: str  # HTML; "" when the feeds carry summaries only
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    """One logical feed document, written as folder + atom.xml and folder + feed.xml."""

    folder: str  # "", "articles/", "tags/<slug>/" or "archive/<n>/"
    id: str
    title: str
    subtitle: str
    entries: tuple[Entry, ...]
    updated: datetime
    prev_archive: str = ""  # folder of the previous RFC 5005 archive page
    next_archive: str = ""
    archived: bool = False  # an archive page: its entries never change


def id_domain(config: Config) -> str:
    """The tag-URI authority: pinned in [feeds] id_domain, else the newsletter url's host."""
    return config.feeds.id_domain or url_host(config.newsletter.url)


@lru_cache(maxsize=16)
def url_host(url: str) -> str:
    return urlsplit(url).hostname or "localhost"


def tag_uri(config: Config, view: IssueView) -> str:
    """RFC 4151 id, fixed by the issue's id and date: never derived from a title."""
    return f"tag:{id_domain(config)},{view.issue.date.year}:issue/{view.issue.id}"


def article_uri(config: Config, article: Article) -> str:
    return f"tag:{id_domain(config)},{article.published.year}:article/{article.id}"


def at_send_time(config: Config, day: date) -> datetime:
    return datetime.combine(day, SEND_TIME, tzinfo=ZoneInfo(config.newsletter.timezone))


def issue_updated(view: IssueView) -> date:
    """The day the issue last really changed: its date, or a later `updated` correction."""
    return max(view.issue.date, view.issue.updated or view.issue.date)


def issue_entry(config: Config, view: IssueView, content: str) -> Entry:
    tags = {t: None for a in view.issue.articles for t in a.tags}
    return Entry(
        id=tag_uri(config, view),
        title=xml_text(view.issue.title),
        link=view.web_url,
        published=at_send_time(config, view.issue.date),
        updated=at_send_time(config, issue_updated(view)),
        summary=xml_text(view.preheader),
        content=xml_text(content) if config.feeds.content == "full" else "",
        categories=clean_terms(tuple(tags)),
    )


def article_entry(config: Config, view: IssueView, article: Article) -> Entry:
    published = min(article.published, view.issue.date)
    return Entry(
        id=article_uri(config, article),
        title=xml_text(article.title),
        link=article.url,
        published=at_send_time(config, published),
        updated=at_send_time(config, issue_updated(view)),
        summary=xml_text(markdown_text(article.summary) or article.title),
        content=xml_text(article_html(view, article)) if config.feeds.content == "full" else "",
        categories=clean_terms(article.tags),
    )


def article_html(view: IssueView, article: Article) -> str:
    """An article as feed content: its image first, the summary, where it ran in the newsletter."""
    image = article.image
    parts = [f'<p><img src="{escape(image.url)}" alt="{escape(image.alt)}"></p>'] if image else []
    parts.append(str(markdown_html(article.summary)))
    meta = " · ".join(escape(x) for x in (article.category, article.source) if x)
    parts.append(f"<p><em>{meta}</em></p>" if meta else "")
    issue = f'<a href="{escape(view.web_url)}">{escape(view.issue.title)}</a>'
    parts.append(f"<p>In issue #{view.number}: {issue}</p>")
    return "".join(parts)


def newest_first(entries: Sequence[Entry]) -> tuple[Entry, ...]:
    return tuple(sorted(entries, key=lambda e: (e.published, e.id), reverse=True))


def newest_date(
    config: Config, entries: Sequence[Entry], fallback: Sequence[Entry] = ()
) -> datetime:
    """A feed's updated: its newest entry's, never "now", so rebuilds are byte-identical."""
    dates = [e.updated for e in entries] or [e.updated for e in fallback]
    return max(dates, default=at_send_time(config, EMPTY_FEED_DATE))


def feed_id(config: Config, views: Sequence[IssueView], name: str) -> str:
    # The year of the first issue: it stays put as later issues are added.
    year = min((v.issue.date.year for v in views), default=EMPTY_FEED_DATE.year)
    return f"tag:{id_domain(config)},{year}:{name}"


def issue_feeds(
    config: Config, views: Sequence[IssueView], contents: Mapping[str, str]
) -> list[Feed]:
    """The issues feed (the newest `limit`) and its RFC 5005 archive pages (oldest first)."""
    oldest = sorted(views, key=lambda v: v.issue.sort_key)
    entries = [issue_entry(config, v, contents.get(v.issue.id, "")) for v in oldest]
    size = config.feeds.archive_size
    pages = len(entries) // size if size else 0
    # Entries past the last full page are only in the main feed, so it may exceed `limit`.
    keep = max(config.feeds.limit, len(entries) - pages * size)
    title, subtitle = config.newsletter.title, config.newsletter.description
    fid = feed_id(config, views, "feed")
    main = newest_first(entries)[:keep]
    feeds = [
        Feed(
            "",
            fid,
            title,
            subtitle,
            main,
            newest_date(config, main),
            prev_archive=archive_folder(pages) if pages else "",
        )
    ]
    for n in range(1, pages + 1):
        page = newest_first(entries[(n - 1) * size : n * size])
        feeds.append(
            Feed(
                archive_folder(n),
                fid,
                f"{title} (archive {n})",
                subtitle,
                page,
                newest_date(config, page),
                prev_archive=archive_folder(n - 1) if n > 1 else "",
                next_archive=archive_folder(n + 1) if n < pages else "",
                archived=True,
            )
        )
    return feeds


def archive_folder(n: int) -> str:
    return f"archive/{n}/"


def tag_folder(tag: str) -> str:
    """tags/region-south-caucasus/ for 'region:south-caucasus': folder names are slugs."""
    return f"tags/{slugify(tag) or 'tag'}/"


def article_feeds(config: Config, views: Sequence[IssueView]) -> list[Feed]:
    """The optional articles feed and one feed per configured tag, newest article first."""
    if not (config.feeds.articles or config.feeds.tags):
        return []
    # Sorted before any entry is made: only the `limit` newest of each feed are ever rendered.
    pairs = sorted(
        ((v, a) for v in views for a in v.issue.articles),
        key=lambda p: (min(p[1].published, p[0].issue.date), p[1].id),
        reverse=True,
    )
    title, limit = config.newsletter.title, config.feeds.limit
    newest = [article_entry(config, v, a) for v, a in pairs[:1]]
    feeds = []
    if config.feeds.articles:
        chosen = tuple(article_entry(config, v, a) for v, a in pairs[:limit])
        feeds.append(
            Feed(
                "articles/",
                feed_id(config, views, "feed/articles"),
                f"{title}: articles",
                config.newsletter.description,
                chosen,
                newest_date(config, chosen, newest),
            )
        )
    for tag in config.feeds.tags:
        tagged = [(v, a) for v, a in pairs if tag in a.tags][:limit]
        chosen = tuple(article_entry(config, v, a) for v, a in tagged)
        feeds.append(
            Feed(
                tag_folder(tag),
                feed_id(config, views, f"feed/tag/{slugify(tag)}"),
                f"{title}: {tag}",
                f"Articles tagged {tag}",
                chosen,
                newest_date(config, chosen, newest),
            )
        )
    return feeds
