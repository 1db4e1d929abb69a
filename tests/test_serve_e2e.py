"""Acceptance, end to end over real HTTP: `publisher serve` on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from publisher.delivery import tokens
from publisher.delivery.db import open_ledger
from publisher.delivery.schema import subscribers
from publisher.delivery.settings import SubscribersSettings
from tests.conftest import copy_example, run_cli
from tests.servers import SECRET, configure, free_port, serving

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def write_csv(path: Path, count: int) -> list[str]:
    addresses = [f"reader{i}@Example{i % 7}.org" for i in range(count)]
    path.write_text("email,name\n" + "".join(f"{a},Reader {i}\n" for i, a in enumerate(addresses)))
    return [a.lower() for a in addresses]


def statuses(ws: Path, database: str) -> dict[str, tuple[int, str]]:
    engine = open_ledger(ws, SubscribersSettings(database=database))
    with engine.connect() as connection:
        found = {r.email: (r.id, r.status) for r in connection.execute(select(subscribers))}
    engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite:///private/subscribers.db"
    return str(request.getfixturevalue("postgres_db"))


def test_import_subscribe_confirm_unsubscribe_reimport(tmp_path: Path, database: str) -> None:
    ws, port = copy_example(tmp_path / "ws"), free_port()
    configure(ws, database, port, rate_limit=50)
    addresses = write_csv(tmp_path / "list.csv", 1000)
    imported = run_cli("subscribers", "import", str(tmp_path / "list.csv"), "--root", str(ws), cwd=ws)
    assert imported.code == 0, imported.stderr
    assert "1000 added, 0 updated, 0 skipped" in imported.stdout
    with serving(ws, port) as base, httpx.Client(base_url=base, timeout=10) as http:
        # 2. subscribe through the form; a known address gets the very same page
        fresh = http.post("subscribe", data={"email": "new.reader@example.net", "name": "New Reader"})
        known = http.post("subscribe", data={"email": addresses[0]})
        assert fresh.status_code == known.status_code == 200
        assert fresh.text == known.text and "Check your inbox" in fresh.text
        # 3. confirm by following the link in the confirmation message
        outbox = sorted((ws / "private/outbox").glob("*.eml"))
        assert len(outbox) == 1  # the known address is confirmed already: no message
        message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
        assert message["To"].addresses[0].addr_spec == "new.reader@example.net"
        link = re.search(r"(http://\S+/confirm/\S+)", message.get_content()).group(1)
        page = http.get(link)
        assert page.status_code == 200 and "<form" in page.text
        assert statuses(ws, database)["new.reader@example.net"][1] == "unconfirmed"  # GET never acts
        assert http.post(link).status_code == 200
        assert statuses(ws, database)["new.reader@example.net"][1] == "confirmed"
        # 4. one-click unsubscribe by RFC 8058 POST
        known_ids = statuses(ws, database)
        leaving = addresses[10:20]
        page = http.get(tokens.unsubscribe_url(base, known_ids[leaving[0]][0], SECRET.encode()))
        assert page.status_code == 200 and 'value="One-Click"' in page.text
        assert statuses(ws, database)[leaving[0]][1] == "confirmed"  # mail scanners fetch links: GET never acts
        for address in leaving:
            url = tokens.unsubscribe_url(base, known_ids[address][0], SECRET.encode())
            assert http.get(url).status_code == 200
            answer = http.post(url, content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK)
            assert answer.status_code == 200 and "unsubscribed" in answer.text
        # 6. forged, truncated and wrong-purpose tokens are refused and change nothing
        victim = known_ids[addresses[30]][0]
        good = tokens.sign(victim, "unsubscribe", SECRET.encode())
        forged = [good[:-2], tokens.sign(victim, "unsubscribe", b"another-secret-0123456789"),
                  tokens.sign(victim, "confirm", SECRET.encode()), f"{victim + 1}.{good.split('.')[1]}", "x"]
        for token in forged:
            assert http.post(f"unsubscribe/{token}", content=b"List-Unsubscribe=One-Click", headers=ONE_CLICK).status_code == 404
            assert http.get(f"unsubscribe/{token}").status_code == 404
        assert http.post(f"confirm/{good}").status_code == 404
    after = statuses(ws, database)
    assert all(after[a][1] == "unsubscribed" for a in leaving)
    assert after[addresses[30]][1] == "confirmed"
    forgotten = run_cli("subscribers", "forget", addresses[40], "--root", str(ws), cwd=ws)
    assert forgotten.code == 0, forgotten.stderr
    # 5. re-import the first CSV: nobody suppressed comes back
    again = run_cli("subscribers", "import", str(tmp_path / "list.csv"), "--root", str(ws), cwd=ws)
    assert again.code == 0, again.stderr
    assert "0 added, 0 updated, 1000 skipped" in again.stdout
    assert again.stdout.count("unsubscribed: only the person can subscribe again") == 10
    assert f"{addresses[40]}: suppressed" in again.stdout
    final = statuses(ws, database)
    assert all(final[a][1] == "unsubscribed" for a in leaving) and addresses[40] not in final
    assert sum(1 for s in final.values() if s[1] == "confirmed") == 1000 - 10 - 1 + 1
