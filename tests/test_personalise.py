"""Personalised messages: one render, filled per recipient, read by two real mail parsers."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import mailparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Environment
from lxml import html as lxml_html

from publisher.delivery.personalise import (
    MessageTemplate,
    Personal,
    RecipientError,
    clean_name,
    recipient_message_id,
    render_template,
)
from publisher.email import email_css
from publisher.inline import inline_css
from publisher.render import Theme
from publisher.selection import IssueView, select_all
from publisher.workspace import load_workspace
from tests.conftest import copy_example

DATE = "Mon, 30 Nov 2026 08:00:00 +0000"


@pytest.fixture(scope="module")
def issue(tmp_path_factory: pytest.TempPathFactory) -> tuple[Environment, IssueView]:
    ws = load_workspace(copy_example(tmp_path_factory.mktemp("p") / "ws"))
    view = select_all(ws, [ws.issue("2024-16")])[0]
    return Theme(None, dict(ws.config.email.utm)).environment(), view


@pytest.fixture(scope="module")
def template(issue: tuple[Environment, IssueView]) -> MessageTemplate:
    return render_template(*issue, DATE, name_fallback="there")


def person(n: int, name: str | None, url: str | None = None) -> Personal:
    url = url or f"https://lists.example.org/unsubscribe/{n}.Zm9vYmFy-_x"
    return Personal(f"reader{n}@example.org", name, url, f"<2024-16.{n}@example.org>")


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert all(not part.defects for part in msg.walk())
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    return msg


def rerendered(issue: tuple[Environment, IssueView], url: str, name: str) -> tuple[str, str]:
    """What a full render for this one recipient gives: the fill must equal it."""
    env, view = issue
    ctx = {"view": view, "config": view.config, "unsubscribe_url": url, "recipient_name": name}
    html = env.get_template("email.html").render(css=email_css(env), **ctx)
    return env.get_template("email.txt").render(**ctx), inline_css(html, view.config.newsletter.url)


def same_dom(a: str, b: str) -> bool:
    return bool(lxml_html.tostring(lxml_html.document_fromstring(a)) == lxml_html.tostring(
        lxml_html.document_fromstring(b)
    ))


names = st.one_of(st.none(), st.text(max_size=80), st.sampled_from(
    ["Zoë Ünïcødé", 'A "quoted" <b>&amp;</b>', "O'Brien, Pat", "李小龍", "=?utf-8?q?x?=", "a\r\nBcc: x@y"]
))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, n=st.integers(1, 10**9))
def test_fill_equals_a_full_render(
    issue: tuple[Environment, IssueView], template: MessageTemplate, name: str | None, n: int
) -> None:
    url = f"https://lists.example.org/u/{n}.a-b_c?x=1&y=2"
    msg = parse(template.fill(person(n, name, url)))
    text, html = msg.iter_parts()
    want_text, want_html = rerendered(issue, url, clean_name(name) or "there")
    assert text.get_content().replace("\r\n", "\n") == want_text
    # The same document: lxml writes a quote in text as it likes, the fill escapes every one.
    assert same_dom(html.get_content().replace("\r\n", "\n"), want_html)
    shown = msg["To"].addresses[0].display_name
    assert clean_name(name).startswith(shown) and msg["To"].addresses[0].addr_spec == f"reader{n}@example.org"


def test_headers_per_recipient_and_both_parsers_agree(template: MessageTemplate) -> None:
    for n, name in enumerate([None, "Ann", "Zoë Ünïcødé", "x" * 200]):
        raw = template.fill(person(n, name))
        msg = parse(raw)
        parsed = mailparser.parse_from_bytes(raw)
        assert not parsed.defects
        assert msg["Message-ID"] == parsed.message_id == f"<2024-16.{n}@example.org>"
        unsubscribe = msg["List-Unsubscribe"]
        assert f"<https://lists.example.org/unsubscribe/{n}.Zm9vYmFy-_x>" in unsubscribe
        assert "<mailto:unsubscribe@commonspace.example?subject=unsubscribe>" in unsubscribe
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["List-Id"].endswith(">") and msg["Date"] == DATE
        assert parsed.to[0][1] == f"reader{n}@example.org"
        assert parsed.to[0][0] == msg["To"].addresses[0].display_name
        assert parsed.subject.split() == msg["Subject"].split()


def test_no_header_injection_from_a_name_or_address(template: MessageTemplate) -> None:
    msg = parse(template.fill(person(1, "Eve\r\nBcc: victim@example.com\x00\x1b")))
    assert msg["Bcc"] is None and "victim" not in str(msg["To"]).split("<")[1]
    for bad in ["a@b.org\r\nBcc: v@x.org", "Name <a@b.org>", "a@b.org, c@d.org", "zoë@b.org", ""]:
        with pytest.raises(RecipientError):
            template.fill(Personal(bad, None, "https://x.org/u/1", "<a@b>"))


def test_an_http_unsubscribe_has_no_one_click_header(template: MessageTemplate) -> None:
    msg = parse(template.fill(person(1, None, "http://localhost:8000/unsubscribe/1.x")))
    assert msg["List-Unsubscribe-Post"] is None


def test_message_id_is_stable_per_issue_and_recipient(issue: tuple[Environment, IssueView]) -> None:
    config = issue[1].config
    first = recipient_message_id(config, "2024-16", "7", b"k" * 32)
    assert first == recipient_message_id(config, "2024-16", "7", b"k" * 32)
    assert first != recipient_message_id(config, "2024-16", "8", b"k" * 32)
    assert first != recipient_message_id(config, "2024-17", "7", b"k" * 32)
    assert ".7@" not in first  # a keyed digest, not the subscriber's id
    assert first.endswith("@weekly.commonspace.example>")


def test_test_subject_prefix(issue: tuple[Environment, IssueView]) -> None:
    msg = parse(render_template(*issue, DATE, subject_prefix="[TEST] ").fill(person(1, None)))
    assert msg["Subject"].startswith("[TEST] ")
    assert msg["Date"] == DATE  # the caller's (the send time), not the issue's 08:00
