"""The email: Jinja renders, then premailer inlines; a plain-text part; the size budget."""

from __future__ import annotations

import dataclasses

from jinja2 import Environment, TemplateNotFound
from lxml import html as lxml_html
from markupsafe import Markup

from publisher.config import Config
from publisher.eml import build_eml, message_id, subject_for
from publisher.errors import Problem, Severity
from publisher.inline import COMMENT_RE, EmailCss, inline_css, split_css
from publisher.selection import IssueView

__all__ = ["build_eml", "message_id", "render_email_html", "render_email_text", "subject_for"]
WARN_RATIO = 0.9  # warn from 90% of the budget: one more article may tip it over


def unsubscribe_url(config: Config) -> str:
    """The footer's link: the https page, else a mailto."""
    if config.email.unsubscribe_url:
        return config.email.unsubscribe_url
    mailto = config.email.unsubscribe_mailto
    return f"mailto:{mailto}?subject=unsubscribe" if mailto else ""


def email_css(env: Environment) -> EmailCss:
    """email.css as written (never through Jinja), split into inlined and kept rules, and
    email-kept.css (class rules never inlined), when the theme has it."""
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, "email.css")
    css = split_css(source)
    try:  # asked directly: listing every template walked the theme folders for each email
        kept, _, _ = env.loader.get_source(env, "email-kept.css")
    except TemplateNotFound:
        return css
    return dataclasses.replace(css, kept=Markup(COMMENT_RE.sub("", kept).strip()))


def render_email_html(env: Environment, view: IssueView) -> str:
    """Render the template, then inline its CSS (never the other way round: premailer #297)."""
    return inline_css(email_document(env, view), view.config.newsletter.url)


def email_document(env: Environment, view: IssueView) -> str:
    """email.html as Jinja renders it, its CSS still in <style> elements."""
    return env.get_template("email.html").render(
        view=view, config=view.config, css=email_css(env), unsubscribe_url=unsubscribe_url(view.config)
    )


def render_email_text(env: Environment, view: IssueView) -> str:
    return env.get_template("email.txt").render(
        view=view, config=view.config, unsubscribe_url=unsubscribe_url(view.config)
    )


def budget_problems(view: IssueView, email_html: bytes) -> list[Problem]:
    """An error over [email] max_bytes, a warning from 90%, naming the size and the largest parts."""
    size, budget = len(email_html), view.config.email.max_bytes
    if size < WARN_RATIO * budget:
        return []
    parts = size_contributors(email_html.decode())
    largest = "; ".join(f"{label}: {n:,} bytes" for label, n in parts[:3])
    over = size > budget
    message = (
        f"email.html is {size:,} bytes, {'over' if over else 'close to'} the budget of "
        f"{budget:,} ([email] max_bytes; Gmail clips HTML over about 102 KB). Largest: {largest}"
    )
    hint = "shorten summaries, move articles to the next issue, or trim email.css"
    severity: Severity = "error" if over else "warning"
    return [Problem(f"issues/{view.issue.id}.toml", message, "issue", "articles", hint, severity)]


def size_contributors(email_html: str) -> list[tuple[str, int]]:
    """The parts of an email by size, largest first: each content row, and all inline styles."""
    tree = lxml_html.document_fromstring(email_html)
    styles = sum(len(s.encode()) + 9 for s in tree.xpath("//@style"))
    parts = [("inline style attributes, in all", styles)]
    for cell in tree.xpath("//td[contains(concat(' ', @class, ' '), ' content ')]"):
        heading = cell.xpath("string(.//h1|.//h2|.//p[@class='section-title'])").strip()
        label = f"'{heading[:60]}'" if heading else "a content row"
        parts.append((label, len(lxml_html.tostring(cell, encoding="utf-8"))))
    return sorted(parts, key=lambda p: -p[1])
