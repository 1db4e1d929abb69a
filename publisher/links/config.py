"""[check]: the settings of `publisher check --links`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt


class LinkCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    duplicate_window: PositiveInt = 26  # issues before this one whose links it may not repeat
    fetch: bool = True  # false: no dead-link requests (offline); duplicates and placeholders only
    timeout: PositiveFloat = 10.0  # seconds per request
    concurrency: PositiveInt = 16  # requests at once, in all
    per_host: PositiveInt = 2  # requests at once to one host
    retries: int = Field(2, ge=0, le=5)  # on 429 and 503
    max_retry_after: PositiveFloat = 30.0  # seconds: a longer Retry-After is cut to this
    cache_hours: float = Field(24.0, ge=0)  # a link checked this recently is not fetched again
