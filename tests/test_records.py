import sys
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


def test_records_share_their_repeated_strings_and_pickle_back_equal() -> None:
    """Tags, sources and categories are interned and the set of given fields is shared, so a
    large archive holds each once; a pickled record (the workspace cache) comes back equal,
    compact too, and a copy's changes never reach the records it was copied from."""
    import pickle

    def make(n: int) -> Article:  # each string made afresh, as a parser makes them
        return Article(title=f"T{n}", url=f"https://example.com/{n}", published=date(2024, 1, n),
                       category="".join(["Ne", "ws"]), tags=["".join(["topic:", "water"])],
                       image={"url": f"https://example.com/{n}.png"})

    first, second = make(1), make(2)
    assert first.tags[0] is second.tags[0] and first.category is second.category
    assert first.source is second.source
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    issue = Issue(id="2024-01", title="One", date=date(2024, 1, 8), status="published", articles=(first, second))
    back = pickle.loads(pickle.dumps(issue))
    assert back == issue and back.model_dump() == issue.model_dump()
    assert back.stripped_fields == issue.stripped_fields
    assert back.articles[0].tags[0] is first.tags[0]
    assert back.articles[0].__pydantic_fields_set__ is first.__pydantic_fields_set__
    assert back.articles[0].image is not None and back.articles[0].image.model_fields_set == {"url"}
    # Unpickled, a record's values sit in a dict that shares its keys with its class's.
    restored = back.articles[0].__dict__
    assert sys.getsizeof(restored) < sys.getsizeof(dict(restored)) and list(restored) == list(Article.model_fields)
    moved = back.articles[1].model_copy(update={"note": "a line"})
    assert moved.note == "a line" and back.articles[1].note == "" and moved.title == "T2"
    changed = first.model_copy(update={"note": "a line"})
    assert "note" in changed.model_fields_set and "note" not in second.model_fields_set
