"""`subscribers bounces`: DSNs read by flufl.bounce, ARF complaints, from .eml, mbox and Maildir."""

from __future__ import annotations

import mailbox
from email import message_from_string
from pathlib import Path

from tests.conftest import copy_example, run_cli
from tests.test_subscribers_cli import cli, listed


def dsn(recipient: str, action: str = "failed", status: str = "5.1.1") -> str:
    code = "550 5.1.1 user unknown" if action == "failed" else "452 4.2.2 mailbox full"
    return f"""From: MAILER-DAEMON@mx.example.org
To: newsletter@example.org
Subject: Undelivered Mail Returned to Sender
Message-ID: <{recipient.replace('@', '.')}.{action}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain

The message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {code}

--BOUNDARY--
"""


def arf(recipient: str) -> str:
    return f"""From: feedback@mail.example.com
To: abuse@example.org
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"

--ARF
Content-Type: text/plain

This is an email abuse report.

--ARF
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: {recipient}

--ARF
Content-Type: message/rfc822

From: newsletter@example.org
To: {recipient}
Subject: Issue 1

Hello.
--ARF--
"""


def setup(tmp_path: Path) -> Path:
    ws = copy_example(tmp_path / "ws")
    for address in ("hard@example.org", "soft@example.org", "angry@example.org", "fine@example.org"):
        assert cli(ws, "add", address, "--confirmed").code == 0
    return ws


def test_an_eml_hard_bounce_and_an_arf_complaint_change_status(tmp_path: Path) -> None:
    ws = setup(tmp_path)
    (tmp_path / "hard.eml").write_text(dsn("hard@example.org"))
    (tmp_path / "arf.eml").write_text(arf("angry@example.org"))
    result = cli(ws, "bounces", str(tmp_path / "hard.eml"))
    assert result.code == 0, result.stderr
    assert "1 hard bounces" in result.stdout
    assert cli(ws, "bounces", str(tmp_path / "arf.eml")).code == 0
    assert listed(ws) == {"hard@example.org": "bounced", "soft@example.org": "confirmed",
                          "angry@example.org": "complained", "fine@example.org": "confirmed"}
    assert "ARF abuse report" in cli(ws, "history", "angry@example.org").stdout


def test_three_soft_bounces_in_an_mbox_make_a_hard_one(tmp_path: Path) -> None:
    ws = setup(tmp_path)
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for _ in range(2):
        box.add(message_from_string(dsn("soft@example.org", "delayed", "4.2.2")))
    box.add(message_from_string("From: a@example.org\nSubject: not a bounce\n\nhello\n"))
    box.flush()
    first = cli(ws, "bounces", str(tmp_path / "bounces.mbox"))
    assert first.code == 0, first.stderr
    assert "3 messages, 0 hard bounces, 2 soft, 0 complaints, 1 not a bounce" in first.stdout
    assert listed(ws)["soft@example.org"] == "confirmed"
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(message_from_string(dsn("soft@example.org", "delayed", "4.2.2")))
    maildir.flush()
    third = cli(ws, "bounces", str(tmp_path / "Maildir"))
    assert third.code == 0 and "(now bounced)" in third.stdout
    assert listed(ws)["soft@example.org"] == "bounced"


def test_a_folder_that_is_not_a_maildir_is_a_clear_error(tmp_path: Path) -> None:
    ws = setup(tmp_path)
    (tmp_path / "empty").mkdir()
    result = run_cli("subscribers", "bounces", str(tmp_path / "empty"), "--root", str(ws), cwd=ws)
    assert result.code == 1 and "not a Maildir" in result.stderr
