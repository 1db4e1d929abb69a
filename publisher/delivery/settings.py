"""[subscribers]: where the ledger lives and how the endpoint behaves."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt

from publisher.records import check_http_url

DEFAULT_DATABASE = "sqlite:///private/subscribers.db"


def endpoint_base(value: str) -> str:
    """"" (no endpoint) or an absolute http(s) URL ending in '/'."""
    value = value.strip()
    if not value:
        return ""
    return check_http_url(value).rstrip("/") + "/"


def database_url(value: str) -> str:
    value = value.strip()
    if not value.startswith(("sqlite:", "postgresql")):
        raise ValueError(
            "must be a SQLAlchemy URL: sqlite:///private/subscribers.db or "
            "postgresql+psycopg://user@host/dbname"
        )
    if value.startswith(("postgresql://", "postgresql+psycopg2://")):
        # psycopg (3) is the driver publisher installs; the URL need not say so
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


class SubscribersSettings(BaseModel):
    """The ledger's URL (SQLite relative to the workspace, or PostgreSQL) and the endpoint's knobs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Annotated[str, AfterValidator(database_url)] = DEFAULT_DATABASE
    # The public base URL of `publisher serve`; the web pages carry the subscribe form when set.
    endpoint: Annotated[str, AfterValidator(endpoint_base)] = ""
    confirm_max_age_hours: PositiveInt = 72
    # Confirmation messages are written here until a transport sends them.
    outbox: str = "private/outbox"
    # Subscribe POSTs allowed per client address per window.
    rate_limit: PositiveInt = 5
    rate_window_seconds: PositiveInt = 600
    # Soft bounces in a row that count as one hard bounce.
    soft_bounce_limit: PositiveInt = 3
    # Largest request body `serve` reads, in bytes; a larger one gets 413 before it is read.
    max_body_bytes: int = Field(16_384, ge=1024, le=1_048_576)
