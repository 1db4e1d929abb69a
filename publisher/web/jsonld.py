"""schema.org structured data as JSON-LD: an issue is a PublicationIssue of a Periodical whose
parts are the curated articles; the archive is a WebSite with a SearchAction.

Only schema.org types and properties, plus Google's documented `query-input` of a SearchAction.
"""

from __future__ import annotations

import json
from typing import Any

from publisher.config import Config
from publisher.feeds.entries import at_send_time, issue_updated
from publisher.labels import tag_label, visible_tags
from publisher.markup import markdown_text
from publisher.records import Article, Image
from publisher.selection import IssueView

CONTEXT = "https://schema.org"
# Inside <script>, "</script>" or "<!--" would end or bend the element; U+2028/2029 broke old
# JavaScript parsers. JSON allows each of these as \\u escapes, so the data is unchanged.
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                   ("\u2029", "\\u2029"))


def script_json(data: Any) -> str:
    """JSON safe to place verbatim between <script> and </script>."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    for char, escape in _SCRIPT_ESCAPES:  # five replace()s: str.translate with a dict is 40x slower
        text = text.replace(char, escape)
    return text


def organisation(config: Config) -> dict[str, Any]:
    news = config.newsletter
    data: dict[str, Any] = {"@type": "Organization", "name": news.title, "url": news.url}
    if news.logo:
        data["logo"] = {"@type": "ImageObject", "url": news.logo}
    return data


def image_object(image: Image) -> dict[str, Any]:
    data: dict[str, Any] = {"@type": "ImageObject", "url": image.url, "contentUrl": image.url}
    if image.alt:
        data["description"] = image.alt
    if image.width and image.height:
        data["width"], data["height"] = image.width, image.height
    return data


def default_image(config: Config) -> Image | None:
    """[newsletter] image, described by the newsletter's title."""
    url = config.newsletter.image
    return Image(url=url, alt=config.newsletter.title) if url else None


def article_part(config: Config, article: Article) -> dict[str, Any]:
    """A curated article: its own URL, date, image and source (Google's Article rules:
    headline, image, datePublished, author or publisher)."""
    news_like = "news" in article.category.lower()
    data: dict[str, Any] = {
        "@type": "NewsArticle" if news_like else "Article",
        "headline": article.title,
        "url": article.url,
        "datePublished": article.published.isoformat(),
    }
    if image := article.image or default_image(config):
        data["image"] = [image_object(image)]
    if article.author:
        data["author"] = [{"@type": "Person", "name": article.author}]
    data["publisher"] = {"@type": "Organization", "name": article.source or article.url}
    if article.category:
        data["articleSection"] = article.category
    if summary := markdown_text(article.summary):
        data["description"] = summary
    if tags := visible_tags(config, article.tags):
        data["keywords"] = [tag_label(config, t) for t in tags]
    return data


def periodical(config: Config) -> dict[str, Any]:
    news = config.newsletter
    data: dict[str, Any] = {
        "@type": "Periodical",
        "@id": f"{news.url}#periodical",
        "name": news.title,
        "url": news.url,
        "inLanguage": news.language,
        "publisher": organisation(config),
    }
    if news.description:
        data["description"] = news.description
    return data


def issue_data(view: IssueView) -> dict[str, Any]:
    config, issue = view.config, view.issue
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "PublicationIssue",
        "@id": f"{view.web_url}#issue",
        "url": view.web_url,
        "name": issue.title,
        "headline": issue.title,
        "issueNumber": view.number,
        "datePublished": at_send_time(config, issue.date).isoformat(),
        "dateModified": at_send_time(config, issue_updated(view)).isoformat(),
        "inLanguage": config.newsletter.language,
        "description": view.preheader or issue.title,
    }
    images = [a.image for a in issue.articles if a.image]
    if lead := images[0] if images else default_image(config):
        data["image"] = [image_object(lead)]
    data["author"] = {"@type": "Organization", "name": config.newsletter.author or config.newsletter.title}
    data["publisher"] = organisation(config)
    data["isPartOf"] = periodical(config)
    data["hasPart"] = [article_part(config, a) for a in issue.articles]
    return data


def website_data(config: Config) -> dict[str, Any]:
    """The archive; with search on, how to search it (`search/?q=...`)."""
    news = config.newsletter
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "WebSite",
        "@id": f"{news.url}#website",
        "url": news.url,
        "name": news.title,
        "inLanguage": news.language,
        "publisher": organisation(config),
    }
    if news.description:
        data["description"] = news.description
    if config.site.search:
        data["potentialAction"] = {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": f"{news.url}search/?q={{search_term_string}}",
            },
            "query-input": "required name=search_term_string",
        }
    return data
