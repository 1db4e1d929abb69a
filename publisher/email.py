"""The email: Jinja renders, premailer inlines; a plain-text part; a ready .eml."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from jinja2 import Environment
from premailer import Premailer

from publisher.errors import BuildError, Problem
from publisher.selection import IssueView

# cssutils logs every CSS property it does not know (dark-mode, mso-*) at WARNING.
logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)


def unsubscribe_url(view: IssueView) -> str:
    return view.config.email.unsubscribe_url or ""


def render_email_html(env: Environment, view: IssueView) -> str:
    """Render the template, then inline its CSS (never the other way round)."""
    html = env.get_template("email.html").render(
        view=view, config=view.config, unsubscribe_url=unsubscribe_url(view)
    )
    return inline_css(html, view.config.newsletter.url)


def inline_css(html: str, base_url: str) -> str:
    inliner = Premailer(
        html,
        base_url=base_url,
        allow_network=False,
        strip_important=False,
        keep_style_tags=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
    )
    return inliner.transform(pretty_print=False)


def render_email_text(env: Environment, view: IssueView) -> str:
    return env.get_template("email.txt").render(
        view=view, config=view.config, unsubscribe_url=unsubscribe_url(view)
    )


def subject_for(view: IssueView) -> str:
    cfg = view.config
    try:
        subject = cfg.email.subject.format(
            newsletter=cfg.newsletter.title,
            number=view.number,
            title=view.issue.title,
            date=view.issue.date.isoformat(),
            id=view.issue.id,
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise BuildError(
            Problem(
                file="config.toml",
                record="[email]",
                field="subject",
                message=f"the subject pattern cannot be filled: {exc}",
                hint="use only {newsletter}, {number}, {title}, {date} and {id}",
            )
        ) from exc
    if "\n" in subject or "\r" in subject:
        raise BuildError(
            Problem(
                file="config.toml",
                record="[email]",
                field="subject",
                message="the subject pattern yields a line break",
                hint="remove the newline from the pattern",
            )
        )
    return subject


def message_id(view: IssueView) -> str:
    """Stable per issue: the same issue always has the same Message-ID."""
    domain = view.config.newsletter.url.split("//", 1)[1].split("/", 1)[0].split(":")[0]
    digest = hashlib.sha256(view.web_url.encode()).hexdigest()[:16]
    return f"<issue-{view.issue.id}.{digest}@{domain}>"


def build_eml(view: IssueView, text: str, html: str) -> bytes:
    cfg = view.config
    msg = EmailMessage()
    msg["Subject"] = subject_for(view)
    msg["From"] = formataddr((cfg.email.sender_name or cfg.newsletter.title, cfg.email.sender))
    if cfg.email.reply_to:
        msg["Reply-To"] = cfg.email.reply_to
    msg["To"] = cfg.email.to
    zone = ZoneInfo(cfg.newsletter.timezone)
    msg["Date"] = format_datetime(datetime.combine(view.issue.date, time(8, 0), tzinfo=zone))
    msg["Message-ID"] = message_id(view)
    domain = message_id(view).rsplit("@", 1)[1].rstrip(">")
    msg["List-Id"] = formataddr((cfg.newsletter.title, f"newsletter.{domain}"))
    unsubscribe = (
        [f"<mailto:{cfg.email.unsubscribe_mailto}>"] if cfg.email.unsubscribe_mailto else []
    )
    if cfg.email.unsubscribe_url:
        unsubscribe.append(f"<{cfg.email.unsubscribe_url}>")
    if unsubscribe:
        msg["List-Unsubscribe"] = ", ".join(unsubscribe)
    if cfg.email.unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg.as_bytes(policy=SMTP)
