"""What a send needs, checked before anything goes out: the issue (published, unless a test),
its one render, each recipient's personal parts, the transport from [send]."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.config import Config
from publisher.delivery.addresses import InvalidAddress, normalise_address
from publisher.delivery.journal import Entry
from publisher.delivery.personalise import (
    MessageTemplate,
    Personal,
    recipient_message_id,
    render_template,
)
from publisher.delivery.send_settings import DEFAULT_PORTS, PASSWORD_VARIABLE
from publisher.delivery.tokens import unsubscribe_url
from publisher.delivery.transports.base import Transport
from publisher.delivery.transports.ses import SesTransport
from publisher.delivery.transports.smtp import SmtpTransport
from publisher.eml import mail_domain
from publisher.errors import ConfigError, Problem, RecordError, UsageError
from publisher.render import Theme
from publisher.selection import IssueView, select_all
from publisher.workspace import Workspace, load_workspace

Personalise = Callable[[Entry], Personal]


def load_issue(root: Path, issue_id: str, draft_ok: bool) -> tuple[Workspace, IssueView]:
    """The workspace and the issue's view; only a published issue is sent for real."""
    workspace = load_workspace(root)
    issue = workspace.issue(issue_id)
    where = f"issues/{issue_id}.toml"
    if not issue.articles:
        raise RecordError(Problem(where, "the issue has no articles to send", "issue", "articles",
                                  "add [[articles]] or run 'publisher import'"))
    if not draft_ok and not issue.is_published:
        raise UsageError(Problem(where, "the issue is a draft: only a published issue is sent, "
                                 "so what goes out is frozen", "issue", "status",
                                 f"run 'publisher publish {issue_id}' first, or try it with "
                                 f"'publisher send {issue_id} --test you@example.org'"))
    return workspace, select_all(workspace, [issue])[0]


def issue_template(workspace: Workspace, view: IssueView, subject_prefix: str = "") -> MessageTemplate:
    """The one render of this run, dated now in the newsletter's timezone."""
    config = workspace.config
    theme = Theme(workspace.root / config.build.templates, dict(config.email.utm))
    date = format_datetime(datetime.now(ZoneInfo(config.newsletter.timezone)).replace(microsecond=0))
    return render_template(theme.environment(), view, date, subject_prefix, config.send.name_fallback)


def endpoint_of(config: Config) -> str:
    if not config.subscribers.endpoint:
        raise ConfigError(Problem("config.toml", "no endpoint is set: every message needs its own "
                                  "unsubscribe link, served by 'publisher serve'", "[subscribers]",
                                  "endpoint", 'set endpoint = "https://lists.example.org/"'))
    return config.subscribers.endpoint


def personal_maker(config: Config, issue_id: str, secret: bytes) -> Personalise:
    """Each subscriber's unsubscribe URL (HMAC token) and stable Message-ID."""
    endpoint = endpoint_of(config)

    def personal(entry: Entry) -> Personal:
        sid = entry.subscriber_id
        return Personal(entry.email, entry.name, unsubscribe_url(endpoint, sid, secret),
                        recipient_message_id(config, issue_id, str(sid), secret))

    return personal


def test_personal(config: Config, issue_id: str, address: str) -> Personal:
    """A test message: the configured unsubscribe page (no subscriber), a fresh Message-ID."""
    url = config.email.unsubscribe_url or config.subscribers.endpoint or config.newsletter.url
    message_id = f"<test-{issue_id}.{secrets.token_hex(8)}@{mail_domain(config)}>"
    return Personal(address, None, url, message_id)


def test_addresses(raw: list[str]) -> list[str]:
    found = []
    for value in raw:
        try:
            found.append(normalise_address(value))
        except InvalidAddress as error:
            raise UsageError(Problem("--test", f"{value!r} is not an address: {error}",
                                     hint="give plain addresses, like you@example.org")) from error
    return found


def envelope_from(config: Config) -> str:
    return config.send.envelope_from or config.email.sender


def make_transport(config: Config) -> Transport:
    """SMTP (default) or SES, from [send]; the SMTP password only from the environment."""
    cfg = config.send
    if cfg.transport == "ses":
        return SesTransport(region=cfg.ses_region, timeout=cfg.timeout)
    user = cfg.user or config.email.smtp_user
    secret = cfg.password or config.email.smtp_password
    if user and secret is None:
        raise ConfigError(Problem(PASSWORD_VARIABLE, f"is not set, and [send] user '{user}' needs "
                                  "a password", hint=f"export {PASSWORD_VARIABLE}=... (never in "
                                  "config.toml)"))
    return SmtpTransport(
        host=cfg.host or config.email.smtp_host, port=cfg.port or DEFAULT_PORTS[cfg.tls],
        tls=cfg.tls, user=user, password=secret.get_secret_value() if secret else "",
        ca_file=cfg.ca_file, timeout=cfg.timeout, connections=cfg.concurrency,
    )
