"""Feed documents as bytes: feedgen builds them, lxml mends what feedgen 1.0 gets wrong."""

from __future__ import annotations

from html import escape

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher import __version__
from publisher.config import Config
from publisher.feeds.entries import Entry, Feed, xml_text

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
ATOM_TYPE, RSS_TYPE, HTML_TYPE = "application/atom+xml", "application/rss+xml", "text/html"
FILES = {"atom": ("atom.xml", ATOM_TYPE), "rss": ("feed.xml", RSS_TYPE)}


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
    fg = FeedGenerator()
    describe(fg, config, feed)
    # FeedGenerator() stamps "now" into both of these: always overwrite them.
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    for entry in feed.entries:
        # add_entry() prepends by default, which would reverse our newest-first order.
        add_entry(fg.add_entry(order="append"), entry)
    return fg


def describe(fg: FeedGenerator, config: Config, feed: Feed) -> None:
    """Id, title, language, generator, author, logo and icon."""
    news = config.newsletter
    fg.id(feed.id)
    fg.title(xml_text(feed.title))
    fg.subtitle(xml_text(feed.subtitle or feed.title))
    fg.language(news.language)
    fg.generator("publisher", version=__version__)  # replaces feedgen's own name and uri
    author = xml_text(news.author or news.title)
    fg.author({"name": author, **_email(news.author_email)})
    if news.author_email:
        fg.managingEditor(f"{news.author_email} ({author})")
    if news.logo:
        fg.logo(news.logo)
    if news.icon:
        fg.icon(news.icon)


def _email(address: str) -> dict[str, str]:
    return {"email": address} if address else {}


def add_entry(fe: FeedEntry, entry: Entry) -> None:
    fe.id(entry.id)  # also the RSS guid, isPermaLink="false": a tag URI is no address
    fe.title(entry.title)
    # feedgen writes an RSS <author> only with an email address, as RSS 2.0 requires.
    fe.author({"name": entry.author, **_email(entry.author_email)})
    fe.link(href=entry.link, rel="alternate", type=HTML_TYPE)
    fe.published(entry.published)
    fe.updated(entry.updated)
    fe.summary(entry.summary)
    if entry.content:
        # type="html", never "CDATA": feedgen would write <content type="CDATA">, invalid Atom.
        fe.content(entry.content, type="html")
    # Categories are written by add_categories(), not fe.category(): see there.


def render(config: Config, feed: Feed, fg: FeedGenerator, fmt: str) -> bytes:
    """One document, mended and serialised."""
    # Replacing the links per format: the self link differs, and RSS's channel <link> is the
    # last link added, hence alternate last.
    fg.link(feed_links(config, feed, fmt), replace=True)
    root = feedgen_tree(fg, fmt)
    if fmt == "atom":
        mend_atom(root, feed)
    else:
        mend_rss(root, config, feed)
    data: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return data


def feedgen_tree(fg: FeedGenerator, fmt: str) -> etree._Element:
    """feedgen's document as an lxml tree, to be mended before it is serialised."""
    # feedgen 1.0's private builders return the tree that atom_str()/rss_str() only serialise,
    # which saves parsing the output back; a feedgen without them still works, more slowly.
    create = getattr(fg, "_create_atom" if fmt == "atom" else "_create_rss", None)
    if create is None:
        return etree.fromstring(fg.atom_str() if fmt == "atom" else fg.rss_str())
    root: etree._Element = create()[0]
    return root


def mend_atom(root: etree._Element, feed: Feed) -> None:
    if feed.archived:
        root.insert(0, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))
    for element, entry in zip(_children(root, "entry"), feed.entries, strict=True):
        # feedgen issues #135/#143: entry links lose rel/type/length (its loop rebinds `link`),
        # so they are set again (each entry has one link, its alternate).
        for link in _children(element, "link"):
            link.set("rel", "alternate")
            link.set("type", HTML_TYPE)
        add_categories(element, entry, "term")


def mend_rss(root: etree._Element, config: Config, feed: Feed) -> None:
    channel = root.find("channel")
    assert channel is not None
    # feedgen writes only the first rel="self" atom:link into RSS (so rel="hub" is dropped):
    # hub and archive links are added here, right after it.
    self_link = channel.find(f"{{{ATOM_NS}}}link")
    assert self_link is not None
    at = list(channel).index(self_link) + 1
    for link in feed_links(config, feed, "rss")[1:-1]:
        channel.insert(at, etree.Element(f"{{{ATOM_NS}}}link", link))
        at += 1
    if feed.archived:
        channel.insert(at, etree.Element(f"{{{HISTORY_NS}}}archive", nsmap={"fh": HISTORY_NS}))
    for item, entry in zip(channel.iterfind("item"), feed.entries, strict=True):
        # RSS <description> is HTML by convention: plain text must be escaped, or "<b>" in a
        # summary would be read as markup.
        description = item.find("description")
        if description is not None and entry.summary:  # else feedgen put the content there
            description.text = escape(entry.summary, quote=False)
        add_categories(item, entry, None)


def add_categories(element: etree._Element, entry: Entry, attribute: str | None) -> None:
    """The entry's tags as <category term="..."/> (Atom) or <category>...</category> (RSS)."""
    # Written here rather than with fe.category(): feedgen re-validates every term dict in
    # Python and rebuilds its RSS list on each call; with 20-30 tags per issue that alone made
    # the feed stage twice as slow as plain lxml (tests/bench/bench_feeds.py). The elements are
    # the ones feedgen writes.
    tag = _name(element, "category")
    for term in entry.categories:
        category = etree.SubElement(element, tag)
        if attribute:
            category.set(attribute, term)
        else:
            category.text = term


def _name(parent: etree._Element, local: str) -> str:
    """`local` in parent's namespace: feedgen's in-memory Atom tree is un-namespaced (it sets
    xmlns as a plain attribute), a tree parsed back from its output is not."""
    namespace = etree.QName(parent).namespace
    return f"{{{namespace}}}{local}" if namespace else local


def _children(parent: etree._Element, local: str) -> list[etree._Element]:
    return list(parent.findall(_name(parent, local)))


def render_feed(config: Config, feed: Feed) -> dict[str, bytes]:
    """folder/atom.xml and folder/feed.xml (the formats config asks for)."""
    fg = generator(config, feed)
    return {
        feed.folder + FILES[fmt][0]: render(config, feed, fg, fmt)
        for fmt in config.feeds.formats
        if fmt in FILES  # JSON Feed is written by jsonfeed.py
    }
