"""Feed documents as bytes: feedgen builds them, lxml mends what feedgen 1.0 gets wrong."""

from __future__ import annotations

from html import escape

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher import __version__
from publisher.config import Config
from publisher.feeds.entries import Entry, Feed
from publisher.records import CONTROL_CHARS_RE

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
ATOM_TYPE, RSS_TYPE, HTML_TYPE = "application/atom+xml", "application/rss+xml", "text/html"
FILES = {"atom": ("atom.xml", ATOM_TYPE), "rss": ("feed.xml", RSS_TYPE)}


def xml_text(value: str) -> str:
    # Loading already strips these (with a warning); config text and templates are cleaned
    # here too, because lxml refuses them with a ValueError and the whole build would fail.
    return CONTROL_CHARS_RE.sub("", value)


def feed_links(config: Config, feed: Feed, fmt: str) -> list[dict[str, str]]:
    """Feed-level links for one format: self first; alternate last (see generator())."""
    base, (name, kind) = config.newsletter.url, FILES[fmt]
    links = [{"href": f"{base}{feed.folder}{name}", "rel": "self", "type": kind}]
    if config.feeds.hub:
        links.append({"href": config.feeds.hub, "rel": "hub"})
    if feed.archived:
        links.append({"href": f"{base}{name}", "rel": "current", "type": kind})
    for rel, folder in (("prev-archive", feed.prev_archive), ("next-archive", feed.next_archive)):
        if folder:
            links.append({"href": f"{base}{folder}{name}", "rel": rel, "type": kind})
    links.append({"href": base, "rel": "alternate", "type": HTML_TYPE})
    return links


def generator(config: Config, feed: Feed) -> FeedGenerator:
    """The feed's metadata and entries; links are set per format by render()."""
    news = config.newsletter
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(xml_text(feed.title))
    fg.subtitle(xml_text(feed.subtitle or feed.title))
    fg.language(news.language)
    fg.generator("publisher", version=__version__, uri="https://pypi.org/project/publisher/")
    fg.author({"name": xml_text(news.author or news.title), **_email(news.author_email)})
    if news.author_email:
        fg.managingEditor(f"{news.author_email} ({xml_text(news.author or news.title)})")
    if news.logo:
        fg.logo(news.logo)
    if news.icon:
        fg.icon(news.icon)
    # FeedGenerator() stamps "now" into both of these: always overwrite them.
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    for entry in feed.entries:
        # add_entry() prepends by default, which would reverse our newest-first order.
        add_entry(fg.add_entry(order="append"), entry)
    return fg


def _email(address: str) -> dict[str, str]:
    return {"email": address} if address else {}


def add_entry(fe: FeedEntry, entry: Entry) -> None:
    fe.id(entry.id)  # also the RSS guid, isPermaLink="false": a tag URI is no address
    fe.title(xml_text(entry.title))
    fe.link(href=entry.link, rel="alternate", type=HTML_TYPE)
    fe.published(entry.published)
    fe.updated(entry.updated)
    fe.summary(xml_text(entry.summary))
    if entry.content:
        # type="html", never "CDATA": feedgen would write <content type="CDATA">, invalid Atom.
        fe.content(xml_text(entry.content), type="html")
    if entry.categories:
        # One call with the list: feedgen rebuilds its RSS category list on every call.
        fe.category([{"term": xml_text(term)} for term in entry.categories])


def render(config: Config, feed: Feed, fg: FeedGenerator, fmt: str) -> bytes:
    """One document, mended and serialised."""
    # Replacing the links per format: the self link differs, and RSS's channel <link> is the
    # last link added, hence alternate last.
    fg.link(feed_links(config, feed, fmt), replace=True)
    # The private builders give the lxml tree that atom_str()/rss_str() would only serialise;
    # mending that tree avoids parsing the output back (feedgen 1.0.x, pinned in pyproject).
    if fmt == "atom":
        root, _ = fg._create_atom()
        mend_atom(root, feed)
    else:
        root, _ = fg._create_rss()
        mend_rss(root, config, feed)
    return etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)


def mend_atom(root: etree._Element, feed: Feed) -> None:
    # feedgen issues #135/#143: entry links lose rel/type/length (its loop rebinds `link`), so
    # they are set again here (each entry has one link: its alternate).
    # feedgen's in-memory Atom tree has un-namespaced tags (xmlns is set as a plain attribute);
    # the namespaced path is for a tree parsed back from its output.
    for link in [
        *root.iterfind("entry/link"),
        *root.iterfind(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}link"),
    ]:
        link.set("rel", "alternate")
        link.set("type", HTML_TYPE)
    if feed.archived:
        root.insert(0, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))


def mend_rss(root: etree._Element, config: Config, feed: Feed) -> None:
    channel = root.find("channel")
    assert channel is not None
    # feedgen writes only the first rel="self" atom:link into RSS: hub and archive links are
    # added here, right after it.
    self_link = channel.find(f"{{{ATOM_NS}}}link")
    assert self_link is not None
    at = list(channel).index(self_link) + 1
    for link in feed_links(config, feed, "rss")[1:-1]:
        channel.insert(at, etree.Element(f"{{{ATOM_NS}}}link", link))
        at += 1
    if feed.archived:
        channel.insert(at, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))
    # RSS <description> is HTML by convention: plain text must be escaped, or "<b>" in a
    # summary would be read as markup.
    for item, entry in zip(channel.iterfind("item"), feed.entries, strict=True):
        description = item.find("description")
        if description is not None:
            description.text = escape(xml_text(entry.summary), quote=False)


def render_feed(config: Config, feed: Feed) -> dict[str, bytes]:
    """folder/atom.xml and folder/feed.xml (the formats config asks for)."""
    fg = generator(config, feed)
    return {
        feed.folder + FILES[fmt][0]: render(config, feed, fg, fmt) for fmt in config.feeds.formats
    }
