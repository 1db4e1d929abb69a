from datetime import date

import pytest
from pydantic import ValidationError

from publisher.records import Article, Issue, normalize_tag, slugify

BASE = {"title": "Floods", "url": "https://www.commonspace.eu/news/kazakhstan-floods", "published": "2024-04-15"}


def test_tags_are_normalised_and_deduplicated() -> None:
    article = Article(**BASE, tags=[" Climate ", "climate", "Region : Central Asia", "open source"])
    assert article.tags == ("climate", "region:central-asia", "open-source")
    assert normalize_tag("  Editors Choice ") == "editors-choice"


def test_id_and_source_default_from_the_url() -> None:
    article = Article(**BASE)
    assert article.id == "news-kazakhstan-floods"
    assert article.source == "commonspace.eu"
    assert article.published == date(2024, 4, 15)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/news/x", "ftp://e.com/x", "https://", "https://e.com/a b"])
def test_only_absolute_http_urls(url: str) -> None:
    with pytest.raises(ValidationError, match="url"):
        Article(**{**BASE, "url": url})


@pytest.mark.parametrize("bad_id", ["../x", "two words", "UPPER", "a--b", "-a"])
def test_ids_must_be_slugs(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="not a slug"):
        Article(**BASE, id=bad_id)


def test_titles_are_one_line_without_control_characters() -> None:
    article = Article(**{**BASE, "title": "Floods\r\nBcc: x@y\x07"})
    assert article.title == "Floods Bcc: x@y"


def test_records_are_immutable() -> None:
    article = Article(**BASE)
    with pytest.raises(ValidationError):
        article.title = "changed"  # type: ignore[misc]


def test_published_issue_needs_articles_and_a_known_status() -> None:
    with pytest.raises(ValidationError, match="article"):
        Issue(id="2024-16", title="t", date="2024-04-19", status="published", articles=[])
    assert Issue(id="2024-16", title="t", date="2024-04-19").articles == ()
    with pytest.raises(ValidationError, match="status"):
        Issue(id="2024-16", title="t", date="2024-04-19", status="sent", articles=[BASE])


def test_slugify() -> None:
    assert slugify("Kazakhstan floods, 2024!") == "kazakhstan-floods-2024"
    assert slugify("Çal\u0131şma / Ünye") == "calisma-unye"
