"""The settings schema: config.toml, overridable by PUBLISHER_<SECTION>__<KEY> variables."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from publisher.delivery.send_settings import SendSettings
from publisher.delivery.settings import SubscribersSettings
from publisher.digest.config import Layout
from publisher.labels import TagSettings
from publisher.links.config import LinkCheck
from publisher.records import HttpUrl, Slug, normalize_tag, one_line
from publisher.values import Address, Language, OptionalAddress, TimeZone, plain_text
from publisher.web.settings import Site


class Part(BaseModel):
    """A config section: unknown keys, infinities and invisible characters are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        return plain_text(value)


def absolute_base(value: str) -> str:
    return value.rstrip("/") + "/"


def https_only(value: str) -> str:
    # List-Unsubscribe and its RFC 8058 one-click POST are built from it.
    if not value.lower().startswith("https://"):
        raise ValueError(f"'{value[:80]}' is not an https URL: unsubscribe links must be https")
    return value



class Newsletter(Part):
    title: str = Field(min_length=1)
    description: str = ""
    url: Annotated[HttpUrl, AfterValidator(absolute_base)]
    language: Language = "en"
    timezone: TimeZone = "UTC"
    author: str = ""
    author_email: OptionalAddress = ""
    logo: HttpUrl | None = None
    icon: HttpUrl | None = None
    image: HttpUrl | None = None  # link previews (og:image) of pages that have no image of their own


class Email(Part):
    sender: Address = Field("newsletter@example.com", alias="from")
    sender_name: str = ""
    reply_to: OptionalAddress = ""
    to: Address = "subscriber@example.com"
    subject: str = "{newsletter} #{number}: {title}"
    unsubscribe_mailto: OptionalAddress = ""
    unsubscribe_url: Annotated[HttpUrl, AfterValidator(https_only)] | None = None
    list_id: str = ""
    contact: str = ""
    utm: dict[str, str] = Field(default_factory=dict)
    max_bytes: Annotated[PositiveInt, Field(le=10**9)] = 100_000
    layout: Literal["stories", "links", "auto"] = "stories"  # see publisher/digest/
    smtp_host: str = "localhost"
    smtp_port: Annotated[PositiveInt, Field(le=65535)] = 25
    smtp_user: str = ""
    # Read from PUBLISHER_EMAIL__SMTP_PASSWORD only; config.toml may not hold it.
    smtp_password: SecretStr | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("sender", "sender_name", "reply_to", "to", "unsubscribe_mailto", "list_id")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # These become mail headers: a line break would inject a header of its own.
        if any(c in value for c in "\r\n"):
            raise ValueError("must be a single line: it becomes a mail header")
        return value.strip()

    @field_validator("utm")
    @classmethod
    def _utm_keys(cls, utm: dict[str, str]) -> dict[str, str]:
        if bad := [k for k in utm if not k.replace("_", "").isalnum()]:
            raise ValueError(f"UTM parameter names are letters, digits and '_': {bad}")
        return utm


class Feeds(Part):
    """[feeds]: which feeds, how long, full content or summaries, ids that never change."""

    formats: tuple[Literal["rss", "atom", "json"], ...] = ("rss", "atom")
    limit: Annotated[PositiveInt, Field(le=10_000)] = 20
    content: Literal["full", "summary"] = "full"
    articles: bool = False
    tags: tuple[str, ...] = ()
    hub: HttpUrl | None = None
    # Issues per RFC 5005 archive page (archive/<n>/atom.xml); 0 = no archive pages.
    archive_size: Annotated[NonNegativeInt, Field(le=10_000)] = 20
    # The host in entry ids (tag:<host>,<year>:issue/<id>); default: the newsletter url's host.
    # Pin it before moving the newsletter to a new address, so readers see no duplicates.
    id_domain: str = ""
    # Never feed categories nor tag pages (besides editors-choice and sponsored); globs allowed.
    hidden_tags: Annotated[tuple[str, ...], AfterValidator(lambda t: tuple(map(normalize_tag, t)))] = ()

    @field_validator("id_domain")
    @classmethod
    def _host_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", value):
            raise ValueError(f"'{value}' is not a lowercase host name, like weekly.example.org")
        return value

    @field_validator("tags")
    @classmethod
    def _normalise(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        # An empty tag would make a feed of every article; a repeated one, the same feed twice.
        return tuple(dict.fromkeys(t for t in map(normalize_tag, tags) if t))


def tag_patterns(tags: tuple[str, ...]) -> tuple[str, ...]:
    """Tags and globs are compared normalised, like the articles' own tags."""
    return tuple(normalize_tag(t) for t in tags)


def one_or_many(value: object) -> object:
    """`match = {...}` is a list of one; a list of tables means any of them."""
    return [value] if isinstance(value, dict) else value


def number_weight(value: object) -> object:
    # TOML strings and booleans would otherwise be coerced silently ("2" -> 2.0, true -> 1.0).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a weight must be a number, like 2.0; got {value!r}")
    return value


def whole_count(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise ValueError(f"must be 0 or more; got {value}")
    return value


def no_decay_or_days(value: float) -> float:
    # Under a day, 0.5 ** (age / half-life) underflows to nothing for every article.
    if 0 < value < 1:
        raise ValueError(f"must be 0 (no decay) or at least 1 day; got {value}")
    return value


# Bounds keep every date and score computation finite: a limit of 10**18 or a weight of
# 1e308 is a typo, not a setting.
Weight = Annotated[NonNegativeFloat, BeforeValidator(number_weight), Field(le=1000)]
Count = Annotated[NonNegativeInt, BeforeValidator(whole_count), Field(le=1000)]
Days = Annotated[NonNegativeInt, BeforeValidator(whole_count), Field(le=36_525)]  # 100 years
Cap = Annotated[PositiveInt, Field(le=1000)]
Patterns = Annotated[tuple[str, ...], AfterValidator(tag_patterns)]


class Match(Part):
    """All keys of one match must hold; globs like 'region:*' are allowed in tags."""

    any: Patterns = ()
    all: Patterns = ()
    none: Patterns = ()
    categories: tuple[str, ...] = ()

    def patterns(self) -> tuple[str, ...]:
        return self.any + self.all + self.none


class Section(Part):
    name: Slug
    title: Annotated[str, AfterValidator(one_line)] = ""
    scope: Literal["issue", "archive"] = "issue"
    match: Annotated[tuple[Match, ...], BeforeValidator(one_or_many)] = (Match(),)
    order: Literal["newest", "oldest", "popular", "editorial"] = "newest"
    limit: Count = 3
    exclude_issue_articles: bool = False
    max_age_days: Days | None = None

    @property
    def matches(self) -> tuple[Match, ...]:
        return self.match


class Related(Part):
    limit: Count = 3
    min_score: Annotated[NonNegativeFloat, Field(le=10**6)] = 1.0
    weights: dict[str, Weight] = Field(default_factory=lambda: {"*": 1.0})
    ignore: Patterns = ()
    idf: bool = True
    half_life_days: Annotated[
        NonNegativeFloat, Field(le=36_525), AfterValidator(no_decay_or_days)
    ] = 365
    max_tag_share: float = Field(0.5, gt=0, le=1)
    max_per_source: Cap | None = None
    max_per_category: Cap | None = None
    allow_repeats: bool = False  # rules_version 2: may an issue show one related pick twice?

    @field_validator("weights")
    @classmethod
    def _normalise_keys(cls, weights: dict[str, float]) -> dict[str, float]:
        return {normalize_tag(k): v for k, v in weights.items()}


class Build(Part):
    output: str = "build"
    templates: str = "templates"


class Config(BaseSettings):
    """The whole config.toml. Unknown keys are errors: a typo is never silently ignored."""

    model_config = SettingsConfigDict(
        env_prefix="PUBLISHER_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    newsletter: Newsletter
    email: Email = Email()
    feeds: Feeds = Feeds()
    sections: tuple[Section, ...] = ()
    related: Related = Related()
    build: Build = Build()
    subscribers: SubscribersSettings = SubscribersSettings()
    layout: Layout = Layout()
    check: LinkCheck = LinkCheck()
    site: Site = Site()
    tags: TagSettings = TagSettings()
    send: SendSettings = SendSettings()

    @field_validator("sections")
    @classmethod
    def _unique_names(cls, sections: tuple[Section, ...]) -> tuple[Section, ...]:
        names = [s.name for s in sections]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"section names must be unique; repeated: {', '.join(dupes)}")
        return sections

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file (init = the parsed config.toml).
        return (env_settings, init_settings)

