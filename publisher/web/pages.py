"""The archive's extra files: tag pages, the search page and its index, sitemap and robots.txt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from operator import add, attrgetter, itemgetter

from jinja2 import Environment
from markupsafe import Markup

from publisher.config import Config
from publisher.errors import Problem
from publisher.feeds.entries import issue_updated
from publisher.outdir import Previous
from publisher.output import Output
from publisher.reuse import Outputs, key_of
from publisher.selection import IssueView
from publisher.web.meta import (
    FeedLink,
    PageMeta,
    articles_feeds,
    feed_links,
    page_meta,
    tag_feeds,
)
from publisher.web.search import INDEX_FILE, search_chunks, search_index
from publisher.web.sitemap import (
    ROBOTS_MARKER,
    SITEMAP_FILE,
    SitemapUrl,
    newest,
    robots_txt,
    sitemap_files,
)
from publisher.web.tags import ListingPage, TagPage, paginate, tag_page_paths, tag_pages

SEARCH_ASSETS = ("search/minisearch.js", "search/search.js")
_view_of = itemgetter(0)


def render_web(
    env: Environment, config: Config, views: Sequence[IssueView], out: Outputs | None = None,
    salt: str = "",
) -> dict[str, Output]:
    """Every extra file [site] asks for, by path relative to the output folder.

    With `out` (which knows the previous build), a tag page and the search index are made
    again only when what they show changed; `salt` stands for the templates and code."""
    out = out if out is not None else Outputs()
    salt = key_of(salt, web_config(config))
    published = [v for v in views if v.issue.is_published]
    heads = {id(v): search_inputs(v, out) + "|" for v in published}  # each issue's part of a key
    tags = make_tag_pages(env, config, published, out, salt, heads) if config.site.tag_pages else []
    if config.site.search:
        key = key_of(salt, *(heads[id(v)] for v in published))
        out.make(INDEX_FILE, key, lambda: out.stream(INDEX_FILE, search_chunks(config, published)))
        for rel, data in render_search_page(env, config, published).items():
            out.put(rel, data)
    if config.site.sitemap:
        for rel, data in sitemap_files(config.newsletter.url, sitemap_urls(config, published, tags)).items():
            out.put(rel, data)
    out.put("robots.txt", robots_txt(config.newsletter.url, config.site.sitemap))
    return out.files


def make_tag_pages(
    env: Environment, config: Config, published: list[IssueView], out: Outputs, salt: str, heads: dict[int, str]
) -> list[TagPage]:
    """Every tag's pages (each tag's made again only if what it shows changed) and the tags
    index. What they are made from is let go on return (article lines: 75 MB at 75,000
    articles), before the search index is made."""
    tags = tag_pages(config, published)
    lines: dict[str, str] = {}  # article lines, made for the tags made again only
    for tag in tags:
        key = key_of(salt, tag_page_inputs(tag, out, heads))
        out.make_all(tag_page_paths(tag, config.site.tag_page_size), key,
                     partial(_render_tag, env, config, tag, lines))
    out.put("tags/index.html", render_tags_index(env, config, tags))
    return tags


def web_config(config: Config) -> str:
    """The config the extra pages read besides the templates' own: everything but what only
    decides picks or feed entries ([related], [[sections]], [feeds] limit)."""
    data = config.model_dump(mode="json")
    data.pop("related", None)
    data.pop("sections", None)
    data["feeds"].pop("limit", None)
    return json.dumps(data, sort_keys=True, default=str)


def tag_page_inputs(tag: TagPage, out: Outputs, heads: dict[int, str] | None = None) -> str:
    """What a tag's pages show: the tag, and each article by its id with the issue that carried
    it, that issue named by its record's digest (which covers its articles). heads: each
    issue's part (search_inputs + "|") by id() of its view, filled in here where missing. The
    lines are joined in C (565,000 at 5,000 issues), and only one tag's at a time are held."""
    heads = {} if heads is None else heads
    for view, _ in tag.items:
        if id(view) not in heads:
            heads[id(view)] = search_inputs(view, out) + "|"
    views, articles = map(itemgetter(0), tag.items), map(itemgetter(1), tag.items)
    lines = "\n".join(map(add, map(heads.__getitem__, map(id, views)), map(attrgetter("id"), articles)))
    return f"{tag.tag}|{tag.slug}|{tag.label}|{tag.has_feed}\n{lines}"


def search_inputs(view: IssueView, out: Outputs) -> str:
    """What the search index holds of an issue: its record (articles included) and number."""
    return f"{view.issue.id}|{view.number}|{view.web_url}|{out.text(view.issue)}"


def render_page(env: Environment, name: str, config: Config, page: PageMeta, **context: object) -> bytes:
    return env.get_template(name).render(config=config, page=page, **context).encode()


def own_feeds(config: Config, tag: TagPage) -> tuple[FeedLink, ...]:
    if not tag.has_feed:
        return ()
    return feed_links(config, tag.folder, f"{config.newsletter.title}: {tag.label}")


def render_tag_pages(env: Environment, config: Config, tags: Sequence[TagPage]) -> dict[str, bytes]:
    """Every page of every tag, and the tags index."""
    lines = article_lines(env, tags)
    files: dict[str, bytes] = {}
    for tag in tags:
        files.update(render_tag(env, config, tag, lines))
    files["tags/index.html"] = render_tags_index(env, config, tags)
    return files


def render_tag(
    env: Environment, config: Config, tag: TagPage, lines: dict[str, str] | None = None
) -> dict[str, bytes]:
    """Every page of one tag. lines: article_lines() of this tag's articles (and maybe more),
    made here when not given."""
    lines = article_lines(env, [tag]) if lines is None else lines
    feeds = own_feeds(config, tag)
    return {
        f"{part.folder}index.html": render_listing(env, config, part, feeds, lines)
        for part in paginate(tag, config.site.tag_page_size)
    }


def _render_tag(env: Environment, config: Config, tag: TagPage, lines: dict[str, str]) -> dict[str, bytes]:
    """One tag's pages, its article lines added to `lines` (shared by the tags made again)."""
    return render_tag(env, config, tag, article_lines(env, [tag], lines))


def render_tags_index(env: Environment, config: Config, tags: Sequence[TagPage]) -> bytes:
    news = config.newsletter
    every_feed = articles_feeds(config) + tag_feeds(config)
    page = page_meta(config, "tags/", f"Tags · {news.title}",
                     f"Every tag of {news.title}, with its articles and feeds.", every_feed)
    feeds = {t.tag: own_feeds(config, t) for t in tags}
    return render_page(env, "tags.html", config, page, tags=tags, feeds=feeds)


def render_listing(
    env: Environment, config: Config, part: ListingPage, feeds: tuple[FeedLink, ...], lines: dict[str, str]
) -> bytes:
    """One page of a tag's articles; the first keeps the tag's plain title and description."""
    news, tag = config.newsletter, part.tag
    numbered = f"page {part.number} of {part.count}" if part.number > 1 else ""
    title = f"{tag.label}, {numbered} · {news.title}" if numbered else f"{tag.label} · {news.title}"
    description = f"Articles tagged {tag.label} in {news.title}: {len(tag.items)} so far."
    if numbered:
        description += f" This is {numbered}."
    image = next((a.image for _, a in part.items if a.image), None)
    page = page_meta(config, part.folder, title, description, feeds, image)
    page = replace(page, prev_url=news.url + part.newer if part.newer else "",
                   next_url=news.url + part.older if part.older else "")
    # One string, not a loop in tag.html: Jinja would escape each Markup line anew.
    listing = Markup("\n".join(f"  {lines[a.id]}" for _, a in part.items))
    return render_page(env, "tag.html", config, page, tag=tag, part=part, feeds=feeds, listing=listing)


def article_lines(
    env: Environment, tags: Sequence[TagPage], lines: dict[str, str] | None = None
) -> dict[str, str]:
    """Each listed article's line (tag_item.html) by article id, made once: an article sits
    on several tag pages (seven on average in the 500-issue benchmark). `lines`: those made
    already, added to."""
    # A macro, not a template rendered each time: a call costs half as much as a render.
    tag_item = env.get_template("tag_item.html").module.tag_item  # type: ignore[attr-defined]
    lines = {} if lines is None else lines
    for tag in tags:
        for view, article in tag.items:
            if article.id not in lines:
                lines[article.id] = str(tag_item(view, article))
    return lines


def render_search(env: Environment, config: Config, views: Sequence[IssueView]) -> dict[str, bytes]:
    index, _ = search_index(config, views)
    return {INDEX_FILE: index, **render_search_page(env, config, views)}


def search_count(views: Sequence[IssueView]) -> int:
    """How many documents the index holds: each published issue, and each of its articles."""
    return sum(1 + len(v.issue.articles) for v in views if v.issue.is_published)


def render_search_page(env: Environment, config: Config, views: Sequence[IssueView]) -> dict[str, bytes]:
    """search/index.html and its scripts (the index itself is search/index.js)."""
    news = config.newsletter
    page = page_meta(config, "search/", f"Search · {news.title}", f"Search every issue of {news.title}.")
    files = {"search/index.html": render_page(
        env, "search.html", config, page, documents=f"{search_count(views):,}", shards=["index.js"]
    )}
    assert env.loader is not None
    for name in SEARCH_ASSETS:  # a workspace may override these like any template
        files[name] = env.loader.get_source(env, name)[0].encode()
    return files


def sitemap_urls(config: Config, views: Sequence[IssueView], tags: Sequence[TagPage]) -> list[SitemapUrl]:
    """The archive, every published issue, the tags index and every page of every tag."""
    base = config.newsletter.url
    changed = {id(v): issue_updated(v) for v in views}
    urls = [SitemapUrl(base, newest(changed.values()))]
    urls += [SitemapUrl(v.web_url, changed[id(v)]) for v in sorted(views, key=lambda v: v.issue.sort_key)]
    if tags:
        urls.append(SitemapUrl(base + "tags/", newest(changed.values())))
        size = config.site.tag_page_size
        for tag in tags:
            # Every page of a tag takes the tag's newest day: a new article shifts each page's
            # share. The tag's issues are found in C (a tag may list 10,000 articles).
            day = newest(map(changed.__getitem__, set(map(id, map(_view_of, tag.items)))))
            urls += [SitemapUrl(base + part.folder, day) for part in paginate(tag, size)]
    return urls


def keep_owners_robots(files: dict[str, Output], config: Config, previous: Previous) -> list[Problem]:
    """An editor's own robots.txt in the output folder wins over ours, whether publisher never
    listed it or it replaced the one publisher wrote (ours starts with ROBOTS_MARKER); a
    warning says so when theirs does not name the sitemap."""
    if previous.folder is None or not (previous.folder / "robots.txt").is_file():
        return []
    theirs = (previous.folder / "robots.txt").read_bytes()
    if "robots.txt" not in previous.files:  # not ours: the editor's (it is there, see above)
        files.pop("robots.txt", None)  # carried over as theirs
    elif theirs.startswith(ROBOTS_MARKER):
        return []  # ours, from an earlier build: replaced
    else:
        files["robots.txt"] = theirs  # the same bytes: kept as the editor left them
    sitemap = f"{config.newsletter.url}{SITEMAP_FILE}"
    if not config.site.sitemap or sitemap.encode() in theirs:
        return []
    return [Problem(
        file=f"{config.build.output}/robots.txt",
        message="is yours, so publisher leaves it as it is; it does not name the sitemap",
        hint=f"add the line 'Sitemap: {sitemap}' to it, so crawlers find every page",
        severity="warning",
    )]
