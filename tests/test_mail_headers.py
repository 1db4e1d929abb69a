"""Mail headers come only from validated config, and invisible characters never reach any
output. Judged with the stdlib email parser (policy=default) and mail-parser."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import mailparser
import pytest
import tomlkit

from tests.conftest import run_cli

DRAFT = "issues/2024-17.toml"
INVISIBLE = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a", "\u202e",
             "\u2066", "\u2069", "\x0b", "\x0c", "\ufffe"]  # fmt: skip


def set_email(root: Path, **values: str) -> None:
    doc = tomlkit.parse((root / "config.toml").read_text())
    for key, value in values.items():
        doc["email"][key.replace("sender", "from") if key == "sender" else key] = value
    (root / "config.toml").write_text(tomlkit.dumps(doc))


def test_tricky_but_valid_names_give_one_from_address(example: Path) -> None:
    set_email(example, sender="news+weekly@commonspace.example",
              sender_name='Caucasus, "Central" Asia — Weekly <Bcc: x@y.z>',
              unsubscribe_mailto="leave+me@commonspace.example")  # fmt: skip
    run = run_cli("build", cwd=example)
    assert run.code == 0, run.stderr
    raw = (example / "build/issues/2024-16/email.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    (sender,) = msg["From"].addresses
    assert sender.addr_spec == "news+weekly@commonspace.example"
    assert sender.display_name.startswith('Caucasus, "Central" Asia — Weekly <Bcc: x')
    assert len(msg["To"].addresses) == 1 and len(msg["Reply-To"].addresses) == 1
    assert not msg.defects and not any(h.defects for h in (msg["From"], msg["To"]))
    assert {k.lower() for k in msg} & {"bcc", "cc", "sender"} == set()
    targets = [t.strip().strip("<>") for t in str(msg["List-Unsubscribe"]).split(",")]
    assert targets == ["mailto:leave%2Bme@commonspace.example?subject=unsubscribe",
                       "https://weekly.commonspace.example/unsubscribe"]  # fmt: skip
    parsed = mailparser.parse_from_bytes(raw)
    assert [addr for _, addr in parsed.from_] == ["news+weekly@commonspace.example"]
    assert "bcc" not in {k.lower() for k in parsed.headers}


@pytest.mark.parametrize(
    ("key", "value"),
    [("from", "a@b.c>, victim@example.com, <x@y.z"), ("from", ""), ("from", "not an address"),
     ("unsubscribe_mailto", "u@x.example>, <javascript:alert(1)"),
     ("sender_name", "X\u2028Bcc: victim@example.com"), ("to", "sub\u2028scriber@example.com"),
     ("unsubscribe_mailto", "u\x0b@x.example"), ("reply_to", "a@example.org, b@example.org")],
)  # fmt: skip
def test_a_forged_header_value_is_an_error_and_nothing_is_built(
    example: Path, key: str, value: str
) -> None:
    set_email(example, **{key: value})
    run = run_cli("build", cwd=example)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert f"error: config.toml, [email], field '{key}'" in run.stderr
    assert not (example / "build").exists()


def test_invisible_characters_in_records_are_removed_and_never_reach_any_output(example: Path) -> None:
    """Every text field of the draft gets them; the build warns per record and field, and no
    built file holds a single one of them (NUL included)."""
    path = example / DRAFT
    doc = tomlkit.parse(path.read_text())
    mix = "".join(INVISIBLE)
    doc["title"] = f"Atyrau{mix} braces"
    doc["intro"] = f"An intro{mix} with a\u202eEvil override."
    doc["preheader"] = f"Pre{mix}header"
    first = doc["articles"][0]
    first["title"] = "Invoice \u202egnp.exe"
    for key in ("summary", "category", "author", "source"):
        first[key] = f"{key}{mix}text"
    first["tags"] = [f"topic:{mix}floods"]
    first["image"]["alt"] = f"An{mix} embankment"
    first["image"]["credit"] = f"(c){mix} someone"
    path.write_text(tomlkit.dumps(doc))
    run = run_cli("build", "2024-17", "--drafts", cwd=example)
    assert run.code == 0, run.stderr
    warned = {line.split(": invisible")[0] for line in run.stderr.splitlines() if "invisible control" in line}
    assert "warning: issues/2024-17.toml, article #1 (id 'atyrau-flood'), field 'title'" in warned or any(
        "article #1" in w and "field 'title'" in w for w in warned
    )
    assert any("issue, field 'intro'" in w for w in warned)
    assert any("field 'image.alt'" in w for w in warned)
    files = [p for p in (example / "build").rglob("*") if p.is_file()]
    assert len(files) > 10
    for file in files:
        data = file.read_bytes()
        for char in INVISIBLE:
            assert char.encode() not in data, (file.name, hex(ord(char)))
    page = (example / "build/issues/2024-17/index.html").read_text()
    assert "Invoice gnp.exe" in page
