"""`publisher subscribers …` run as a user would: real processes, real files, real SQLite."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Run, copy_example, run_cli

DATA = Path(__file__).parent / "data" / "subscribers"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "ws")


def cli(ws: Path, *args: str) -> Run:
    return run_cli("subscribers", *args, "--root", str(ws), cwd=ws)


def listed(ws: Path) -> dict[str, str]:
    """address -> status, from `subscribers export`."""
    result = cli(ws, "export")
    assert result.code == 0, result.stderr
    return {r["email"]: r["status"] for r in csv.DictReader(io.StringIO(result.stdout))}


@pytest.mark.parametrize(("name", "fmt", "expected"), [
    ("mailchimp.csv", "mailchimp", {"ana@example.org": "confirmed", "Bo@example.org": "confirmed"}),
    ("mailchimp_unsubscribed.csv", "mailchimp", {"gone@example.org": "unsubscribed"}),
    ("substack.csv", "substack", {"reader@example.net": "confirmed", "paid@example.net": "confirmed",
                                   "quiet@example.net": "unsubscribed"}),
    ("buttondown.csv", "buttondown", {"one@example.com": "confirmed", "two@example.com": "unconfirmed",
                                       "three@example.com": "unsubscribed"}),
    ("buttondown_new.csv", "buttondown", {"new1@example.com": "confirmed", "new2@example.com": "unsubscribed"}),
    ("listmonk.csv", "listmonk", {"lm1@example.io": "confirmed", "lm2@example.io": "unsubscribed"}),
    ("bom.csv", "plain", {"bom@example.org": "confirmed"}),
])
def test_imports_each_services_export_by_its_headers(ws: Path, name: str, fmt: str, expected: dict[str, str]) -> None:
    result = cli(ws, "import", str(DATA / name))
    assert result.code == 0, result.stderr
    assert f"({fmt} export): {len(expected)} added" in result.stdout
    assert listed(ws) == expected


def test_names_attributes_and_consent_evidence_are_kept(ws: Path) -> None:
    assert cli(ws, "import", str(DATA / "mailchimp.csv")).code == 0
    assert cli(ws, "import", str(DATA / "listmonk.csv")).code == 0
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(cli(ws, "export").stdout))}
    assert rows["ana@example.org"]["name"] == "Ana Lima"
    assert rows["ana@example.org"]["consent_at"].startswith("2023-01-05T10:02:00")
    assert rows["ana@example.org"]["consent_method"] == "import"
    assert rows["ana@example.org"]["consent_source"] == "mailchimp.csv (mailchimp export)"
    assert rows["lm1@example.io"]["attributes"] == '{"city": "Bengaluru"}'
    assert rows["lm1@example.io"]["consent_at"] == "2023-06-01T10:00:00+00:00"  # Go's time format
    history = cli(ws, "history", "ana@example.org")
    assert history.code == 0 and "added" in history.stdout and "mailchimp.csv" in history.stdout


def test_skips_are_reported_with_their_reason_and_dry_run_writes_nothing(ws: Path) -> None:
    dry = cli(ws, "import", str(DATA / "mixed.csv"), "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "2 would be added, 0 would be updated, 3 skipped" in dry.stdout
    assert "skipped: 2 invalid address, 1 duplicate" in dry.stdout
    assert "line 3: a@b.org, d@e.org: invalid address: not one bare address" in dry.stdout
    assert "line 4: not-an-address: invalid address" in dry.stdout
    assert "line 5: good@example.org: duplicate: earlier in this file" in dry.stdout
    assert listed(ws) == {}
    real = cli(ws, "import", str(DATA / "mixed.csv"))
    assert "2 added" in real.stdout
    assert listed(ws) == {"good@example.org": "confirmed", "idn@xn--bcher-kva.example": "confirmed"}
    assert "idn@bücher.example" in cli(ws, "list").stdout  # shown in Unicode, stored in ASCII


def test_reimport_never_resubscribes_and_status_option_applies(ws: Path) -> None:
    assert cli(ws, "import", str(DATA / "mailchimp.csv"), "--status", "unconfirmed").code == 0
    assert listed(ws) == {"ana@example.org": "unconfirmed", "Bo@example.org": "unconfirmed"}
    assert cli(ws, "unsubscribe", "ana@example.org").code == 0
    again = cli(ws, "import", str(DATA / "mailchimp.csv"))
    assert "0 added, 1 updated, 1 skipped" in again.stdout
    assert "ana@example.org: unsubscribed: only the person can subscribe again" in again.stdout
    assert listed(ws) == {"ana@example.org": "unsubscribed", "Bo@example.org": "confirmed"}
    forgot = cli(ws, "forget", "Bo@example.org")
    assert forgot.code == 0 and "erased" in forgot.stdout
    third = cli(ws, "import", str(DATA / "mailchimp.csv"))
    assert "Bo@example.org: suppressed" in third.stdout and "0 added" in third.stdout
    assert "Bo@example.org" not in listed(ws)
    assert "forgotten" in cli(ws, "history", "Bo@example.org").stderr


@pytest.mark.parametrize(("name", "message"), [
    ("latin1.csv", "latin1.csv:2: not UTF-8 (byte 12): publisher reads UTF-8, with or without a byte-order mark"),
    ("no_email.csv", "no email column among ['address', 'name']"),
    ("quoted_newline.csv", ":2, field 'name': a quoted line break inside a field"),
])
def test_bad_csv_files_are_clear_errors_and_change_nothing(ws: Path, name: str, message: str) -> None:
    assert cli(ws, "add", "keep@example.org").code == 0
    result = cli(ws, "import", str(DATA / name))
    assert result.code == 1 and message in result.stderr and name in result.stderr
    assert "Traceback" not in result.stderr
    assert listed(ws) == {"keep@example.org": "unconfirmed"}


def test_a_failed_row_late_in_a_file_rolls_back_the_whole_import(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("email,name\n" + "".join(f"u{i}@example.org,U\n" for i in range(500)) + 'z@example.org,"a\nb"\n')
    result = cli(ws, "import", str(path))
    assert result.code == 1 and ":502, field 'name'" in result.stderr
    assert listed(ws) == {}


def test_add_list_count_unsubscribe_history(ws: Path) -> None:
    assert cli(ws, "add", " Ana@Example.ORG ", "--name", "Ana", "--confirmed").code == 0
    assert cli(ws, "add", "bo@example.org").code == 0
    again = cli(ws, "add", "Ana@example.org")
    assert again.code == 2 and "in the ledger already (confirmed)" in again.stderr
    bad = cli(ws, "add", "a@b.org, c@d.org")
    assert bad.code == 2 and "not a usable address" in bad.stderr
    counted = dict(line.split() for line in cli(ws, "count").stdout.splitlines())
    assert counted == {"unconfirmed": "1", "confirmed": "1", "unsubscribed": "0", "bounced": "0",
                       "complained": "0", "total": "2"}
    assert cli(ws, "unsubscribe", "Ana@example.org").code == 0
    listing = cli(ws, "list", "--status", "unsubscribed").stdout
    assert "Ana@example.org" in listing and "bo@example.org" not in listing and "1 subscribers" in listing
    history = cli(ws, "history", "Ana@example.org").stdout
    assert [line.split()[1] for line in history.splitlines()[2:]] == ["added", "unsubscribed"]


def test_add_writes_a_confirmation_message_when_it_can(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLISHER_SECRET", raising=False)
    assert "no confirmation message" in cli(ws, "add", "a@example.org").stdout
    with (ws / "config.toml").open("a") as handle:
        handle.write('\n[subscribers]\nendpoint = "https://subscribe.example.org"\n')
    monkeypatch.setenv("PUBLISHER_SECRET", "s" * 32)
    result = cli(ws, "add", "b@example.org", "--name", "Bee")
    assert result.code == 0 and "confirmation message:" in result.stdout
    (message,) = (ws / "private/outbox").glob("*.eml")
    text = message.read_text()
    assert "To: Bee <b@example.org>" in text and "https://subscribe.example.org/confirm/2." in text
    forgot = cli(ws, "forget", "b@example.org")
    assert "1 waiting message(s) removed from the outbox" in forgot.stdout
    assert not list((ws / "private/outbox").glob("*.eml"))


def test_export_round_trips_and_never_overwrites(ws: Path, tmp_path: Path) -> None:
    assert cli(ws, "import", str(DATA / "substack.csv")).code == 0
    out = tmp_path / "backup.csv"
    assert cli(ws, "export", "--out", str(out)).code == 0
    assert cli(ws, "export", "--out", str(out)).code == 2
    other = copy_example(tmp_path / "other")
    result = cli(other, "import", str(out))
    assert "(publisher export): 3 added" in result.stdout
    assert listed(other) == listed(ws)


def test_init_ignores_the_private_folder(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path / "new"), cwd=tmp_path).code == 0
    assert (tmp_path / "new/.gitignore").read_text().split() == ["/build", "/.build.generations/", "private/"]
    assert cli(tmp_path / "new", "add", "a@example.org").code == 0
    assert (tmp_path / "new/private/subscribers.db").is_file()


def test_a_locked_database_is_a_clear_error(ws: Path) -> None:
    assert cli(ws, "add", "a@example.org").code == 0
    holder = sqlite3.connect(ws / "private/subscribers.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Timer(20, holder.rollback)
    released.start()
    try:
        started = time.monotonic()
        result = cli(ws, "add", "b@example.org")
    finally:
        released.cancel()
        holder.rollback()
        holder.close()
    assert result.code == 1 and "the database is locked by another process" in result.stderr
    assert "subscribers.db" in result.stderr and time.monotonic() - started < 20


def test_a_read_only_or_corrupt_database_is_a_clear_error(ws: Path) -> None:
    assert cli(ws, "add", "a@example.org").code == 0
    with (ws / "config.toml").open("a") as handle:
        handle.write('\n[subscribers]\ndatabase = "sqlite:///file:private/subscribers.db?mode=ro&uri=true"\n')
    result = cli(ws, "add", "b@example.org")
    assert result.code == 1 and "read-only" in result.stderr and "Traceback" not in result.stderr
    copy = copy_example(ws.parent / "corrupt")
    (copy / "private").mkdir()
    (copy / "private/subscribers.db").write_bytes(b"garbage" * 1000)
    broken = cli(copy, "count")
    assert broken.code == 1 and "corrupt" in broken.stderr and "Traceback" not in broken.stderr


def test_status_filters_and_unknown_statuses(ws: Path) -> None:
    assert cli(ws, "import", str(DATA / "substack.csv")).code == 0
    exported = cli(ws, "export", "--status", "unsubscribed")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [r["email"] for r in rows] == ["quiet@example.net"]
    assert rows[0]["consent_at"] == "2023-04-03T08:00:00+00:00"
    for command in (("list", "--status", "gone"), ("export", "--status", "gone"), ("import", str(DATA / "bom.csv"), "--status", "gone")):
        result = cli(ws, *command)
        assert result.code == 2 and "unknown status 'gone'" in result.stderr
