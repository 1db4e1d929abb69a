"""check --links: duplicates, placeholders, and dead links against a real HTTP server on
127.0.0.1 (threaded http.server, started and stopped here), case by case."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from publisher.errors import Problem
from publisher.links.cache import cache_path
from publisher.links.check import link_problems
from publisher.links.duplicates import duplicate_problems
from publisher.links.normalize import normalize_url
from publisher.links.placeholders import found_in
from publisher.workspace import load_workspace
from tests.conftest import run_cli

ROUTES = {  # path -> (status for HEAD, status for GET, extra headers)
    "/ok": (200, 200, {}),
    "/moved": (301, 301, {"Location": "/ok"}),
    "/moved-twice": (308, 308, {"Location": "/moved"}),
    "/found": (302, 302, {"Location": "/ok"}),
    "/to-404": (301, 301, {"Location": "/gone-404"}),
    "/gone-404": (404, 404, {}),
    "/gone-410": (410, 410, {}),
    "/error": (500, 500, {}),
    "/always-busy": (503, 503, {"Retry-After": "3600"}),
    "/loop-a": (301, 301, {"Location": "/loop-b"}),
    "/loop-b": (302, 302, {"Location": "/loop-a"}),
    "/no-head": (405, 200, {}),
    "/not-implemented": (501, 200, {}),
}


class Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []  # method, path, user agent
        self.busy_left = Counter({"/busy": 1})
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()


def handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def answer(self, method: str) -> None:
            path = self.path.split("?")[0]
            with state.lock:
                state.requests.append((method, path, self.headers.get("User-Agent", "")))
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
            try:
                self.respond(method, path)
            finally:
                with state.lock:
                    state.in_flight -= 1

        def respond(self, method: str, path: str) -> None:
            if path == "/slow":
                time.sleep(3)
            if path.startswith("/queue"):
                time.sleep(0.3)
                return self.send(200)
            if path == "/reset-head" and method == "HEAD":
                self.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
                return None
            if path == "/busy" and state.busy_left[path] > 0:
                state.busy_left[path] -= 1
                return self.send(429, {"Retry-After": "1"})
            if path in ("/slow", "/reset-head", "/busy"):
                return self.send(200)
            head, get, headers = ROUTES.get(path, (404, 404, {}))
            return self.send(head if method == "HEAD" else get, headers)

        def send(self, status: int, headers: dict[str, str] | None = None) -> None:
            body = b"" if self.command == "HEAD" else b"<p>hello</p>"
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.answer("HEAD")

        def do_GET(self) -> None:
            self.answer("GET")

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Server]]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


CONFIG = """
[newsletter]
title = "Link Weekly"
url = "https://links.example.org/"

[check]
timeout = 1.0
max_retry_after = 0.5
retries = 2
per_host = 2
duplicate_window = 2
"""


def workspace(root: Path, urls: list[str], earlier: dict[str, list[str]] | None = None) -> Path:
    (root / "issues").mkdir(parents=True)
    (root / "config.toml").write_text(CONFIG)
    for n, (issue_id, links) in enumerate([*(earlier or {}).items(), ("2024-10", urls)], 1):
        status = "draft" if issue_id == "2024-10" else "published"
        lines = [f'title = "Issue {issue_id}"', f"date = 2024-0{n}-05", f'status = "{status}"', ""]
        for k, url in enumerate(links):
            lines += ["[[articles]]", f'id = "a-{issue_id}-{k}"', f'title = "Article {k}"',
                      f'url = "{url}"', "published = 2024-01-01", 'summary = "Fine."', ""]
        (root / "issues" / f"{issue_id}.toml").write_text("\n".join(lines))
    return root


def problems_for(root: Path, monkeypatch: pytest.MonkeyPatch, allow_dead: bool = False) -> list[Problem]:
    monkeypatch.setenv("PUBLISHER_CHECK__FETCH", "true")
    ws = load_workspace(root)
    return link_problems(ws, [ws.issue("2024-10")], allow_dead)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def check_one(base: str, path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Problem]:
    return problems_for(workspace(tmp_path / "ws", [base + path]), monkeypatch)


# --- dead links, case by case ------------------------------------------------------------------


def test_200_is_fine_and_the_user_agent_is_polite(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    assert check_one(base, "/ok", tmp_path, monkeypatch) == []
    method, _, agent = state.requests[0]
    assert method == "HEAD" and agent.startswith("publisher/0.1.0 ") and "links.example.org" in agent


def test_301_is_offered_as_a_fix(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, "/moved-twice", tmp_path, monkeypatch))
    assert found.severity == "warning" and "moved permanently" in found.message
    assert found.hint == f"write the new address instead: {base}/ok"
    assert (found.file, found.record, found.field) == ("issues/2024-10.toml", "article #1 (id 'a-2024-10-0')", "url")


def test_a_temporary_redirect_is_reported_not_rewritten(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, "/found", tmp_path, monkeypatch))
    assert found.severity == "warning" and f"302 to {base}/ok" in found.message and "temporary" in found.hint


@pytest.mark.parametrize("path, status", [("/gone-404", 404), ("/gone-410", 410), ("/error", 500)])
def test_404_410_and_500_are_dead(server, tmp_path, monkeypatch, path: str, status: int) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, path, tmp_path, monkeypatch))
    assert found.is_error and f"dead link {base}{path}: HTTP {status}" in found.message


def test_a_redirect_to_a_404_is_dead_and_says_where(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, "/to-404", tmp_path, monkeypatch))
    assert found.is_error and f"at {base}/gone-404" in found.message


def test_429_is_retried_after_retry_after(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    started = time.monotonic()
    assert check_one(base, "/busy", tmp_path, monkeypatch) == []
    assert [m for m, p, _ in state.requests if p == "/busy"] == ["HEAD", "HEAD"]
    assert time.monotonic() - started >= 0.45  # Retry-After: 1, capped at max_retry_after = 0.5


def test_503_every_time_is_dead_after_the_retries_with_a_capped_wait(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    started = time.monotonic()
    found = only(check_one(base, "/always-busy", tmp_path, monkeypatch))
    assert found.is_error and "HTTP 503" in found.message
    assert len([p for _, p, _ in state.requests if p == "/always-busy"]) == 3  # 1 + retries
    assert time.monotonic() - started < 5  # Retry-After: 3600 was capped


def test_a_slow_server_times_out(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, "/slow", tmp_path, monkeypatch))
    assert found.is_error and "no answer within 1 s" in found.message


def test_a_redirect_loop_is_found(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    found = only(check_one(base, "/loop-a", tmp_path, monkeypatch))
    assert found.is_error and "a redirect loop" in found.message
    assert f"{base}/loop-a -> {base}/loop-b -> {base}/loop-a" in found.message


@pytest.mark.parametrize("path", ["/no-head", "/not-implemented", "/reset-head"])
def test_head_refused_then_get(server, tmp_path, monkeypatch, path: str) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    assert check_one(base, path, tmp_path, monkeypatch) == []
    assert [m for m, p, _ in state.requests if p == path] == ["HEAD", "GET"]


def test_requests_run_concurrently_within_the_per_host_limit(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    started = time.monotonic()
    assert check_one_many(base, tmp_path, monkeypatch) == []
    assert state.most_in_flight == 2  # per_host = 2: concurrent, and never more
    assert time.monotonic() - started < 6 * 0.3


def check_one_many(base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Problem]:
    return problems_for(workspace(tmp_path / "ws", [f"{base}/queue{n}" for n in range(6)]), monkeypatch)


def test_results_are_cached_for_a_day_but_not_failures_that_may_pass(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, state = server
    root = workspace(tmp_path / "ws", [base + "/ok", base + "/gone-404", base + "/error"])
    first = problems_for(root, monkeypatch)
    assert cache_path(root / "build") == root / ".build.generations/cache/links.json"
    assert cache_path(root / "build").is_file() and not (root / "build").exists()
    state.requests.clear()
    again = problems_for(root, monkeypatch)
    assert [p.message for p in again] == [p.message for p in first] and len(first) == 2
    assert [p for _, p, _ in state.requests] == ["/error"]  # 500 may pass later: asked again
    monkeypatch.setenv("PUBLISHER_CHECK__CACHE_HOURS", "0")
    state.requests.clear()
    problems_for(root, monkeypatch)
    assert sorted(p for _, p, _ in state.requests) == ["/error", "/gone-404", "/ok"]


def test_every_finding_names_file_article_and_field(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    root = workspace(tmp_path / "ws", [base + "/ok", base + "/gone-410"])
    path = root / "issues/2024-10.toml"
    text = path.read_text().replace('summary = "Fine."', f'summary = "See [this]({base}/gone-404)."', 1)
    path.write_text(text.replace('title = "Article 1"', 'title = "TODO: a better title"'))
    found = {(p.record, p.field): p for p in problems_for(root, monkeypatch)}
    assert set(found) == {("article #1 (id 'a-2024-10-0')", "summary"), ("article #2 (id 'a-2024-10-1')", "url"),
                          ("article #2 (id 'a-2024-10-1')", "title")}
    assert all(p.file == "issues/2024-10.toml" and p.is_error for p in found.values())


# --- the CLI and publish -----------------------------------------------------------------------


def test_check_links_exits_1_and_publish_needs_allow_dead_links(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, _ = server
    root = workspace(tmp_path / "ws", [base + "/ok", base + "/gone-404"])
    online = {"PUBLISHER_CHECK__FETCH": "true"}
    checked = run_cli("check", "--links", "2024-10", cwd=root, env=online)
    assert checked.code == 1
    assert f"error: issues/2024-10.toml, article #2 (id 'a-2024-10-1'), field 'url': dead link {base}/gone-404: HTTP 404" in checked.stderr
    refused = run_cli("publish", "2024-10", cwd=root, env=online)
    assert refused.code == 1 and "dead link" in refused.stderr
    assert 'status = "draft"' in (root / "issues/2024-10.toml").read_text()
    allowed = run_cli("publish", "2024-10", "--allow-dead-links", cwd=root, env=online)
    assert allowed.code == 0, allowed.stderr
    assert "warning: issues/2024-10.toml" in allowed.stderr and "dead link" in allowed.stderr
    assert 'status = "published"' in (root / "issues/2024-10.toml").read_text()


def test_an_issue_without_links_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("check", "2024-10", cwd=workspace(tmp_path / "ws", ["https://a.example.net/x"]))
    assert result.code == 2 and "only with --links" in result.stderr


def test_offline_is_one_warning_not_a_wall_of_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: every connection is refused
    root = workspace(tmp_path / "ws", [f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"])
    found = only(problems_for(root, monkeypatch))
    assert found.severity == "warning" and "offline" in found.message


# --- duplicates and placeholders (no network) --------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://www.example.net/post/", "https://example.net/post"),
        ("https://example.net:443/post", "https://example.net/post"),
        ("https://example.net/post#", "https://example.net/post"),
        ("https://example.net/post?utm_source=x&utm_medium=y", "https://example.net/post"),
        ("https://example.net/post?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&ref=hn", "https://example.net/post"),
        ("https://example.net/post/amp", "https://example.net/post"),
        ("https://example.net/post?amp=1", "https://example.net/post"),
        ("https://amp.example.net/post", "https://example.net/post"),
        ("https://example.net/p?b=2&a=1", "https://example.net/p?a=1&b=2"),
    ],
)
def test_normalised_links_compare_equal(a: str, b: str) -> None:
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("https://netstack.fm/#episode-21", "https://netstack.fm/#episode-22"),
        ("https://example.net:8080/post", "https://example.net/post"),
        ("https://example.net/post?id=1", "https://example.net/post?id=2"),
        ("https://example.net/Post", "https://example.net/post"),
    ],
)
def test_different_pages_stay_different(a: str, b: str) -> None:
    assert normalize_url(a) != normalize_url(b)


def test_duplicates_within_the_window_and_the_issue(tmp_path: Path) -> None:
    earlier = {
        "2024-07": ["https://old.example.net/too-old"],
        "2024-08": ["https://www.blog.example.net/a/"],
        "2024-09": ["https://b.example.net/x?utm_source=rss"],
    }
    urls = ["https://old.example.net/too-old", "http://blog.example.net/a", "https://b.example.net/x",
            "https://c.example.net/y", "https://c.example.net/y#"]
    ws = load_workspace(workspace(tmp_path / "ws", urls, earlier))
    found = list(duplicate_problems(ws.issues, ws.issue("2024-10"), ws.config.check.duplicate_window))
    assert [(p.record, p.field) for p in found] == [
        ("article #2 (id 'a-2024-10-1')", "url"), ("article #3 (id 'a-2024-10-2')", "url"),
        ("article #5 (id 'a-2024-10-4')", "url"),
    ]  # 2024-07 is outside duplicate_window = 2
    assert "issue 2024-08 (article 'a-2024-08-0')" in found[0].message
    assert "this issue (article 'a-2024-10-3')" in found[2].message


@pytest.mark.parametrize(
    "text, found",
    [
        ("A title TK", ["TK"]), ("TKTK", ["TKTK"]), ("TODO: check", ["TODO"]),
        ("Lorem Ipsum dolor", ["Lorem Ipsum"]), ("see https://example.com/x", ["example.com"]),
        ("EXAMPLE.COM", ["EXAMPLE.COM"]),
        ("Tk toolkit and tkinter", []), ("A todo app", []), ("TKO wins", []), ("myexample.com", []),
        ("example.community", []), ("Stocks in TKT", []),
    ],
)
def test_placeholders_by_word_with_sensible_case(text: str, found: list[str]) -> None:
    assert found_in(text) == found
