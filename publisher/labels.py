"""Tags as readers see them: a label, a unique slug, and internal tags kept out of sight.

[tags] labels names a tag for people (`"region:south-caucasus" = "South Caucasus"`); without
one, a tag reads as itself without its namespace, humanised. Internal tags (`editors-choice`,
`sponsored`, and [feeds] hidden_tags) drive the rules but never show in feeds or tag pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from publisher.records import normalize_tag, one_line, slugify
from publisher.values import plain_text

if TYPE_CHECKING:
    from publisher.config import Config

# Always internal: the example's rules use them, and no reader wants a feed of them.
INTERNAL_TAGS = ("editors-choice", "sponsored")


class TagSettings(BaseModel):
    """[tags]: how tags are named on the web and in feed titles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    labels: dict[str, Annotated[str, AfterValidator(one_line), Field(min_length=1)]] = Field(
        default_factory=dict
    )

    @field_validator("labels", mode="before")
    @classmethod
    def _plain_text(cls, labels: object) -> object:
        return plain_text(labels)  # as every other setting: no invisible characters

    @field_validator("labels")
    @classmethod
    def _normalise_keys(cls, labels: dict[str, str]) -> dict[str, str]:
        return {normalize_tag(k): v for k, v in labels.items()}


def tag_label(config: Config, tag: str) -> str:
    """'region:south-caucasus' -> its configured label, else 'South caucasus'."""
    if label := config.tags.labels.get(tag):
        return label
    words = tag.rpartition(":")[2].replace("-", " ").replace("_", " ").strip() or tag
    return words[:1].upper() + words[1:]


def is_internal(config: Config, tag: str) -> bool:
    """Tags that steer rules but never appear as feed categories or tag pages."""
    return matches_any(internal_patterns(config), tag)


def visible_tags(config: Config, tags: Iterable[str]) -> tuple[str, ...]:
    return visible(internal_patterns(config), tuple(tags))


def internal_patterns(config: Config) -> tuple[str, ...]:
    return (*INTERNAL_TAGS, *config.feeds.hidden_tags)


# An archive has a few hundred tags on tens of thousands of articles: match each tag once,
# and each article's tuple of tags once (feeds, tag pages and search all ask).
@lru_cache(maxsize=65536)
def matches_any(patterns: tuple[str, ...], tag: str) -> bool:
    return any(fnmatchcase(tag, p) for p in patterns)


def visible(patterns: tuple[str, ...], tags: tuple[str, ...]) -> tuple[str, ...]:
    """visible_tags, given internal_patterns(): asked per article (75,000 in a 5,000-issue
    archive), so an article whose tags are all known to be visible costs one set test."""
    shown = _shown.get(patterns)
    if shown is None:
        shown = _shown[patterns] = set()
    if shown.issuperset(tags):
        return tags
    kept = tuple(t for t in tags if not matches_any(patterns, t))
    shown.update(kept)
    return kept


_shown: dict[tuple[str, ...], set[str]] = {}  # per patterns: the tags found visible so far


def tag_slugs(tags: Iterable[str]) -> dict[str, str]:
    """A unique folder slug per tag, in the order given: earlier tags keep the plain slug.

    'region:x', 'region-x' and 'x' slugify alike or close; a later tag whose slug is taken
    (or a tag with no ASCII letters at all) gets a short hash of its own text, so the slug
    never depends on which other tags exist, only on which came first."""
    slugs: dict[str, str] = {}
    used: set[str] = set()
    for tag in dict.fromkeys(tags):
        slug = slugify(tag)
        length = 6
        while not slug or slug in used:
            digest = hashlib.sha256(tag.encode()).hexdigest()[:length]
            slug = f"{slugify(tag) or 'tag'}-{digest}"
            length += 2
        slugs[tag] = slug
        used.add(slug)
    return slugs


def feed_tag_slugs(config: Config) -> dict[str, str]:
    """Slugs of the tags with their own feeds: decided by config alone, so every page and
    feed agrees on them without seeing the archive, and they come first in any archive."""
    return tag_slugs(config.feeds.tags)
