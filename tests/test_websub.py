"""`publisher publish` pings the WebSub hub: a real local HTTP server plays the hub."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from publisher.workspace import load_workspace
from tests.conftest import copy_example, run_cli


class Hub(ThreadingHTTPServer):
    status = 204
    pings: list[dict[str, list[str]]]


class HubHandler(BaseHTTPRequestHandler):
    server: Hub

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        assert self.headers["Content-Type"] == "application/x-www-form-urlencoded"
        self.server.pings.append(parse_qs(body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[Hub]:
    server = Hub(("127.0.0.1", 0), HubHandler)
    server.pings = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def workspace_with_hub(tmp_path: Path, hub_url: str) -> Path:
    ws = copy_example(tmp_path / "ws")
    config = (ws / "config.toml").read_text()
    (ws / "config.toml").write_text(config.replace("[feeds]\n", f'[feeds]\nhub = "{hub_url}"\n', 1))
    return ws


def draft(ws: Path) -> str:
    return next(i.id for i in load_workspace(ws).issues if not i.is_published)


def test_publish_pings_the_hub_once_per_main_feed(tmp_path: Path, hub: Hub) -> None:
    url = f"http://127.0.0.1:{hub.server_address[1]}/"
    ws = workspace_with_hub(tmp_path, url)
    result = run_cli("publish", draft(ws), cwd=ws)
    assert result.code == 0, result.stderr
    base = load_workspace(ws).config.newsletter.url
    assert [p["hub.url"] for p in hub.pings] == [[base + f] for f in ("feed.xml", "atom.xml", "feed.json")]
    assert all(p["hub.mode"] == ["publish"] for p in hub.pings)
    assert "Pinged the WebSub hub for 3 feeds" in result.stdout


def test_a_hub_that_refuses_is_a_warning_and_the_issue_is_published(tmp_path: Path, hub: Hub) -> None:
    hub.status = 500
    ws = workspace_with_hub(tmp_path, f"http://127.0.0.1:{hub.server_address[1]}/")
    issue = draft(ws)
    result = run_cli("publish", issue, cwd=ws)
    assert result.code == 0 and "Traceback" not in result.stderr
    assert "warning: config.toml, [feeds], field 'hub': the WebSub hub answered 500" in result.stderr
    assert load_workspace(ws).issue(issue).is_published


def test_an_unreachable_hub_is_a_warning(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ws = workspace_with_hub(tmp_path, f"http://127.0.0.1:{port}/")
    result = run_cli("publish", draft(ws), cwd=ws)
    assert result.code == 0 and "Traceback" not in result.stderr
    assert "could not reach the WebSub hub" in result.stderr


def test_no_hub_no_ping(tmp_path: Path) -> None:
    ws = copy_example(tmp_path / "ws")
    result = run_cli("publish", draft(ws), cwd=ws)
    assert result.code == 0 and "WebSub" not in result.stdout + result.stderr
