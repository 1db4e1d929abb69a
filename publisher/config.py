"""The settings schema: config.toml, overridable by PUBLISHER_<SECTION>__<KEY> variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from publisher.records import HttpUrl, Slug, normalize_tag, one_line


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def absolute_base(value: str) -> str:
    return value.rstrip("/") + "/"


class Newsletter(Part):
    title: str = Field(min_length=1)
    description: str = ""
    url: Annotated[HttpUrl, AfterValidator(absolute_base)]
    language: str = "en"
    timezone: str = "UTC"
    author: str = ""
    author_email: str = ""
    logo: HttpUrl | None = None
    icon: HttpUrl | None = None


class Email(Part):
    sender: str = Field("newsletter@example.com", alias="from")
    sender_name: str = ""
    reply_to: str = ""
    to: str = "subscriber@example.com"
    subject: str = "{newsletter} #{number}: {title}"
    unsubscribe_mailto: str = ""
    unsubscribe_url: HttpUrl | None = None
    contact: str = ""
    utm: dict[str, str] = Field(default_factory=dict)
    max_bytes: PositiveInt = 100_000
    smtp_host: str = "localhost"
    smtp_port: PositiveInt = 25
    smtp_user: str = ""
    # Read from PUBLISHER_EMAIL__SMTP_PASSWORD only; config.toml may not hold it.
    smtp_password: SecretStr | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Feeds(Part):
    formats: tuple[Literal["rss", "atom"], ...] = ("rss", "atom")
    limit: PositiveInt = 20
    content: Literal["full", "summary"] = "full"
    articles: bool = False
    tags: tuple[str, ...] = ()
    hub: HttpUrl | None = None
    archive_size: NonNegativeInt = 0

    @field_validator("tags")
    @classmethod
    def _normalise(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_tag(t) for t in tags)


class Match(Part):
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    none: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @field_validator("any", "all", "none")
    @classmethod
    def _normalise(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_tag(t) for t in tags)


class Section(Part):
    name: Slug
    title: Annotated[str, AfterValidator(one_line)] = ""
    scope: Literal["issue", "archive"] = "issue"
    match: Match | tuple[Match, ...] = Match()
    order: Literal["newest", "oldest", "popular", "editorial"] = "newest"
    limit: NonNegativeInt = 3
    exclude_issue_articles: bool = False
    max_age_days: NonNegativeInt | None = None

    @property
    def matches(self) -> tuple[Match, ...]:
        return self.match if isinstance(self.match, tuple) else (self.match,)


class Related(Part):
    limit: NonNegativeInt = 3
    min_score: NonNegativeFloat = 1.0
    weights: dict[str, float] = Field(default_factory=lambda: {"*": 1.0})
    ignore: tuple[str, ...] = ()
    idf: bool = True
    half_life_days: NonNegativeFloat = 365
    max_tag_share: float = Field(0.5, gt=0, le=1)
    max_per_source: NonNegativeInt | None = None
    max_per_category: NonNegativeInt | None = None

    @field_validator("ignore")
    @classmethod
    def _normalise(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_tag(t) for t in tags)


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


def config_from_dict(data: dict[str, Any]) -> Config:
    return Config(**data)


def output_dir(config: Config, root: Path) -> Path:
    return root / config.build.output
