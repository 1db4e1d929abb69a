"""What the feeds say, as plain data: entries, ids, dates and archive pages. No XML here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from hashlib import sha256
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from publisher.config import Config
from publisher.labels import feed_tag_slugs, internal_patterns, tag_label, visible, visible_tags
from publisher.markup import markdown_html, markdown_text
from publisher.records import CONTROL_CHARS_RE, Article
from publisher.selection import IssueView

# Issues go out at 08:00 in the newsletter's timezone; an issue's date never moves that hour.
SEND_TIME = time(8, 0)
# Only for a feed that has never had an entry: any fixed date keeps rebuilds identical.
EMPTY_FEED_DATE = date(2000, 1, 1)


# The C0 controls of CONTROL_CHARS_RE, as bytes: bytes.translate finds them far faster than
# a regex scans a long issue's HTML (see tests/bench/bench_feeds.py).
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def xml_text(value: str) -> str:
    """The text without XML-incompatible characters, which lxml refuses with a ValueError."""
    # Loading already strips them from records (with a warning); config text and templates
    # could still carry one, and a feed must never fail the build over it.
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _CONTROL_BYTES)) == len(raw) and not (
        "\ufffe" in value or "\uffff" in value
    ):
        return value
    return CONTROL_CHARS_RE.sub("", value)


def clean_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    """Tags as category terms: XML-safe (tags keep what loading does not strip)."""
    return tuple(t for t in map(_clean_term, terms) if t)


@lru_cache(maxsize=65536)
def _clean_term(term: str) -> str:
    # Per tag, not per tuple of tags: each issue's union of tags is a tuple of its own.
    return xml_text(term)


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
    author: str
    author_email: str = ""
    image: str = ""  # the lead image's URL (JSON Feed's `image`; RSS/Atom carry it in content)


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


def article_uri(config: Config, view: IssueView, article: Article) -> str:
    """Dated by the issue that carried it (fixed at publication), not the article's own date."""
    return f"tag:{id_domain(config)},{view.issue.date.year}:article/{article.id}"


def at_send_time(config: Config, day: date) -> datetime:
    return datetime.combine(day, SEND_TIME, tzinfo=ZoneInfo(config.newsletter.timezone))


def issue_updated(view: IssueView) -> date:
    """The day the issue last really changed: its date, or a later `updated` correction."""
    return max(view.issue.date, view.issue.updated or view.issue.date)


def issue_entry(config: Config, view: IssueView, content: str) -> Entry:
    patterns = internal_patterns(config)
    tags = {t: None for a in view.issue.articles for t in visible(patterns, tuple(a.tags))}
    lead = next((a.image for a in view.issue.articles if a.image), None)
    return Entry(
        id=tag_uri(config, view),
        title=xml_text(view.issue.title),
        link=view.web_url,
        published=at_send_time(config, view.issue.date),
        updated=at_send_time(config, issue_updated(view)),
        summary=xml_text(view.preheader) or xml_text(view.issue.title),
        content=xml_text(content) if config.feeds.content == "full" else "",
        categories=clean_terms(tuple(tags)),
        author=xml_text(config.newsletter.author or config.newsletter.title),
        author_email=config.newsletter.author_email,
        image=lead.url if lead else "",
    )


def article_entry(config: Config, view: IssueView, article: Article) -> Entry:
    published = min(article.published, view.issue.date)
    # The article's own date, as RSS's pubDate: one issue date for all its articles made the
    # W3C validator warn DuplicateUpdated. A recorded correction of the issue still shows.
    updated = view.issue.updated or published
    # Articles of one day would still share a timestamp (DuplicateUpdated again): each is set
    # a few seconds to minutes before the send time by its id, the same in every feed it is in.
    before = timedelta(seconds=int(sha256(article.id.encode()).hexdigest()[:8], 16) % 3600)
    return Entry(
        id=article_uri(config, view, article),
        title=xml_text(article.title),
        link=article.url,
        published=at_send_time(config, published) - before,
        updated=at_send_time(config, updated) - before,
        summary=xml_text(markdown_text(article.summary) or article.title),
        content=xml_text(article_html(view, article)) if config.feeds.content == "full" else "",
        categories=clean_terms(visible_tags(config, article.tags)),
        author=xml_text(article.author or article.source or config.newsletter.title),
        image=article.image.url if article.image else "",
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
    """The issues feed and its RFC 5005 archive pages (archive/1/ holds the oldest issues)."""
    oldest = sorted(views, key=lambda v: v.issue.sort_key)
    entries = [issue_entry(config, v, contents.get(v.issue.id, "")) for v in oldest]
    pages = archive_pages(config, entries)
    fid = feed_id(config, views, "feed")
    main = subscription_entries(config, entries, sum(len(p) for p in pages))
    news = config.newsletter
    latest = archive_folder(len(pages)) if pages else ""
    subscription = Feed(
        "", fid, news.title, news.description, main, newest_date(config, main), latest
    )
    return [subscription] + [
        archive_feed(config, fid, n, page, len(pages)) for n, page in enumerate(pages, 1)
    ]


def archive_pages(config: Config, oldest_first: Sequence[Entry]) -> list[tuple[Entry, ...]]:
    """Full pages of `archive_size` entries from the oldest: a page, once full, never changes."""
    size = config.feeds.archive_size
    count = len(oldest_first) // size if size else 0
    return [tuple(oldest_first[n * size : (n + 1) * size]) for n in range(count)]


def subscription_entries(
    config: Config, entries: Sequence[Entry], archived: int
) -> tuple[Entry, ...]:
    """The newest `limit`, any entry no archive page holds yet, and recently corrected ones."""
    unarchived = len(entries) - archived if config.feeds.archive_size else 0
    keep = newest_first(entries)[: max(config.feeds.limit, unarchived)]
    # RFC 5005: readers need not refetch archive pages, so a correction to an older issue is
    # also shown here while it is newer than the oldest entry kept.
    since = min((e.published for e in keep), default=None)
    kept = {e.id for e in keep}
    corrected = [e for e in entries if e.id not in kept and since and e.updated > since]
    return newest_first([*keep, *corrected])


def archive_feed(config: Config, fid: str, n: int, page: Sequence[Entry], pages: int) -> Feed:
    news = config.newsletter
    return Feed(
        archive_folder(n),
        fid,
        f"{news.title} (archive {n})",
        news.description,
        newest_first(page),
        newest_date(config, page),
        prev_archive=archive_folder(n - 1) if n > 1 else "",
        next_archive=archive_folder(n + 1) if n < pages else "",
        archived=True,
    )


def archive_folder(n: int) -> str:
    return f"archive/{n}/"


FeedSpec = tuple[str, str, str, str, str]  # folder, id name, title, subtitle, tag ("" = all)


def article_feed_specs(config: Config) -> list[FeedSpec]:
    """The articles feed if asked for, then one per configured tag."""
    title = config.newsletter.title
    specs = [
        (
            f"tags/{slug}/",
            f"feed/tag/{slug}",
            f"{title}: {tag_label(config, tag)}",
            f"Articles tagged {tag_label(config, tag)}",
            tag,
        )
        for tag, slug in feed_tag_slugs(config).items()
    ]
    if config.feeds.articles:
        about = config.newsletter.description
        specs.insert(0, ("articles/", "feed/articles", f"{title}: articles", about, ""))
    return specs


def article_feeds(config: Config, views: Sequence[IssueView]) -> list[Feed]:
    """The optional articles feed and one feed per configured tag, newest article first."""
    if not (specs := article_feed_specs(config)):
        return []
    # Chosen before any entry is made: only the `limit` newest of each feed are rendered.
    recent = sorted(range(len(views)), key=lambda n: views[n].issue.date, reverse=True)
    newest = [article_entry(config, v, a) for v, a in newest_pairs(views, recent, "", 1)]
    feeds = []
    for folder, name, title, subtitle, tag in specs:
        chosen = newest_pairs(views, recent, tag, config.feeds.limit)
        entries = tuple(article_entry(config, v, a) for v, a in chosen)
        updated = newest_date(config, entries, newest)
        feeds.append(Feed(folder, feed_id(config, views, name), title, subtitle, entries, updated))
    return feeds


def newest_pairs(
    views: Sequence[IssueView], recent: list[int], tag: str, limit: int
) -> list[tuple[IssueView, Article]]:
    """The `limit` newest (view, article) pairs with `tag` ("" = any), by (article day,
    capped at its issue's, id), ties in the views' order: what sorting every pair gives. The
    issues are walked newest first (`recent`: positions in `views`) only until none left
    could come in, since no article of an issue is newer than its date."""
    found: list[tuple[date, str, int, int]] = []
    for n in recent:
        issue = views[n].issue
        if len(found) >= limit and found[limit - 1][0] > issue.date:
            break
        found += [(min(a.published, issue.date), a.id, n, m)
                  for m, a in enumerate(issue.articles) if not tag or tag in a.tags]
        found.sort(key=lambda f: (f[2], f[3]))  # the views' order, kept for ties by the next sort
        found.sort(key=lambda f: (f[0], f[1]), reverse=True)
        del found[limit:]
    return [(views[n], views[n].issue.articles[m]) for _, _, n, m in found]
