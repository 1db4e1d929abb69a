"""email.eml read by two independent parsers: the stdlib's email and PyPI's mail-parser."""

from __future__ import annotations

import email
from datetime import datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import mailparser
import pytest

from publisher.build import build
from publisher.errors import ConfigError, RecordError
from publisher.workspace import load_workspace
from tests.conftest import copy_example, run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = copy_example(tmp_path_factory.mktemp("eml") / "ws")
    build(ws)
    return ws


def messages(site: Path) -> list[tuple[str, bytes]]:
    found = [(f.name, (f / "email.eml").read_bytes()) for f in (site / "build/issues").iterdir()]
    assert len(found) >= 6
    return sorted(found)


def test_stdlib_reads_subject_parts_and_list_headers(site: Path) -> None:
    workspace = load_workspace(site)
    config = workspace.config
    for issue_id, raw in messages(site):
        issue = workspace.issue(issue_id)
        msg = email.message_from_bytes(raw, policy=policy.default)
        assert msg.defects == []
        assert msg["Subject"].startswith(config.newsletter.title) and issue.title in msg["Subject"]
        assert msg["From"].addresses[0].addr_spec == config.email.sender
        assert msg["Reply-To"] == config.email.reply_to and msg["To"] == config.email.to
        assert msg.get_content_type() == "multipart/alternative"
        text, html = msg.iter_parts()
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert text.get_content_charset() == html.get_content_charset() == "utf-8"
        folder = site / "build/issues" / issue_id
        # SMTP line endings on the wire; the same text otherwise.
        assert text.get_content().replace("\r\n", "\n") == (folder / "email.txt").read_text()
        assert html.get_content().replace("\r\n", "\n") == (folder / "email.html").read_text()
        unsubscribe = msg["List-Unsubscribe"]
        assert f"<mailto:{config.email.unsubscribe_mailto}" in unsubscribe
        assert f"<{config.email.unsubscribe_url}>" in unsubscribe
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["List-Id"].endswith(">") and "<" in msg["List-Id"]


def test_mail_parser_agrees(site: Path) -> None:
    for _, raw in messages(site):
        stdlib = email.message_from_bytes(raw, policy=policy.default)
        parsed = mailparser.parse_from_bytes(raw)
        # mail-parser keeps the folding whitespace of a long Subject; the words are the same.
        assert parsed.subject.split() == stdlib["Subject"].split()
        assert parsed.text_plain and parsed.text_html
        assert stdlib.get_body(("html",)).get_content().strip() in "".join(parsed.text_html)
        headers = {k.lower(): v for k, v in parsed.headers.items()}
        assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
        assert "https://" in headers["list-unsubscribe"] and "mailto:" in headers["list-unsubscribe"]
        assert parsed.message_id == stdlib["Message-ID"]


def test_date_is_the_issues_and_message_id_stable(site: Path, tmp_path: Path) -> None:
    workspace = load_workspace(site)
    again = tmp_path / "again"
    build(site, out=again)
    for issue_id, raw in messages(site):
        msg = email.message_from_bytes(raw, policy=policy.default)
        sent: datetime = parsedate_to_datetime(msg["Date"])
        assert sent.date() == workspace.issue(issue_id).date and sent.hour == 8
        assert msg["Message-ID"].startswith(f"<issue-{issue_id}.")
        assert (again / "issues" / issue_id / "email.eml").read_bytes() == raw  # deterministic


def test_lines_are_short_and_ascii(site: Path) -> None:
    for _, raw in messages(site):
        assert raw.isascii()
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_a_subject_pattern_with_a_newline_is_a_check_error(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    config = ws / "config.toml"
    config.write_text(config.read_text().replace(
        'subject = "{newsletter} #{number}: {title}"',
        'subject = "{newsletter}\\nBcc: victim@example.com\\n{title}"',
    ))
    checked = run_cli("check", cwd=ws)
    assert checked.code == 1
    assert "config.toml, [email], field 'subject'" in checked.stderr and "line break" in checked.stderr
    with pytest.raises(RecordError):
        build(ws)
    assert not (ws / "build").exists()


def test_a_header_value_with_a_newline_never_loads(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    config = ws / "config.toml"
    config.write_text(config.read_text().replace(
        'to = "subscriber@example.com"', 'to = "a@example.com\\nBcc: victim@example.com"'
    ))
    with pytest.raises(ConfigError) as caught:
        load_workspace(ws)
    problems = caught.value.problems
    assert any((p.record, p.field) == ("[email]", "to") and "single line" in p.message for p in problems)
