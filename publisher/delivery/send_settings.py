"""[send]: the transport, its server or ESP, and the pace. Secrets only from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
)

# The SMTP password is read from this variable only (or the older PUBLISHER_EMAIL__SMTP_PASSWORD).
PASSWORD_VARIABLE = "PUBLISHER_SEND__PASSWORD"
DEFAULT_PORTS = {"starttls": 587, "implicit": 465, "none": 25}


class SendSettings(BaseModel):
    """How `publisher send` hands messages over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: Literal["smtp", "ses"] = "smtp"
    # Messages per second at most (a token bucket); 0 = as fast as `concurrency` allows.
    rate: float = Field(0, ge=0)
    # SMTP connections (or SES calls) in flight at once; each connection carries many messages.
    concurrency: PositiveInt = 4
    # SMTP relay: [email] smtp_host/smtp_port/smtp_user are used when these are unset.
    host: str = ""
    port: PositiveInt | None = None
    user: str = ""
    # Read from PUBLISHER_SEND__PASSWORD only; `check` refuses it in config.toml.
    password: SecretStr | None = None
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    # A PEM bundle of extra CAs to trust (an internal relay, the tests); verification stays on.
    ca_file: str = ""
    timeout: PositiveFloat = 60
    # SES v2: the region (default: the AWS environment's or profile's); credentials never here.
    ses_region: str = ""
    # MAIL FROM / bounce address; default: [email] from.
    envelope_from: str = ""
    # A 4xx is retried this many times in all, with exponential backoff and jitter.
    max_attempts: PositiveInt = 6
    backoff_base: PositiveFloat = 2.0
    backoff_max: PositiveFloat = 600
    # The run pauses (stops, resumable) after this many failures in a row.
    pause_after: PositiveInt = 25
    # The lease on an issue's send expires this long after the last heartbeat.
    lease_seconds: PositiveInt = 60
    # The greeting's word when a subscriber has no name ("Hello there,").
    name_fallback: str = "there"

    @field_validator("host", "user", "envelope_from", "ses_region", "name_fallback")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(c in value for c in "\r\n"):
            raise ValueError("must be a single line")
        return value.strip()
