"""`publisher preview`: real HTTP against the server, live rebuilds, errors shown in the page."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import lxml.html
import pytest
import tomlkit
from typer.testing import CliRunner

from publisher.cli import app
from publisher.errors import UsageError
from publisher.output import write_atomic
from publisher.preview import Preview

DRAFT = "2024-17"
TIMEOUT = 20.0


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll until the condition holds; fail after a bounded time."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {TIMEOUT:g} s waiting for {what}")


def edit_title(path: Path, title: str) -> None:
    doc = tomlkit.parse(path.read_text())
    doc["title"] = title
    write_atomic(path, tomlkit.dumps(doc).encode())


@pytest.fixture
def preview(example: Path) -> Iterator[Preview]:
    server = Preview(example, port=0)  # port 0: a free one
    server.start()
    yield server
    server.stop()


def test_serves_the_web_view_and_the_email_on_loopback_only(preview: Preview) -> None:
    host, port = preview.httpd.server_address[:2]
    assert host == "127.0.0.1"
    with pytest.raises(OSError):  # 127.0.0.2 is loopback too, but not the bound address
        socket.create_connection(("127.0.0.2", port), timeout=2).close()
    status, body = fetch(preview.url)
    assert status == 200
    links = set(lxml.html.fromstring(body).xpath("//a/@href"))
    assert {f"/issues/{DRAFT}/index.html", f"/issues/{DRAFT}/email.html"} <= links
    for page in ("index.html", "email.html"):
        status, html = fetch(f"{preview.url}issues/{DRAFT}/{page}")
        assert status == 200
        title = lxml.html.fromstring(html).findtext(".//title") or ""
        assert "Atyrau braces for the flood" in title or "Atyrau braces for the flood" in html


def test_plain_text_email_is_served_as_utf8(preview: Preview) -> None:
    with urllib.request.urlopen(f"{preview.url}issues/{DRAFT}/email.txt", timeout=5) as response:
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "Atyrau" in response.read().decode("utf-8")


def test_other_host_names_are_refused(preview: Preview) -> None:
    """A page elsewhere may point a name at 127.0.0.1 (DNS rebinding); drafts stay private."""
    request = urllib.request.Request(preview.url, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert fetch(preview.url.replace("127.0.0.1", "localhost"))[0] == 200


def test_an_edit_shows_after_the_rebuild(preview: Preview, example: Path) -> None:
    page = f"{preview.url}issues/{DRAFT}/index.html"
    version = fetch(preview.url + "__preview__/version")[1]
    assert preview.watching.wait(TIMEOUT)
    time.sleep(0.5)  # let the file watcher settle in before the edit
    edit_title(example / "issues" / f"{DRAFT}.toml", "A title typed a moment ago")
    # The watcher rebuilds by itself (the version changes with no page asked for) ...
    wait_for(lambda: fetch(preview.url + "__preview__/version")[1] != version, "a rebuild")
    # ... and the page shows the edit.
    assert "A title typed a moment ago" in fetch(page)[1]
    config = example / "config.toml"
    text = config.read_text().replace("Caucasus & Central Asia Weekly", "Renamed Weekly", 1)
    write_atomic(config, text.encode())
    wait_for(lambda: "Renamed Weekly" in fetch(preview.url + "index.html")[1], "the new name")


def test_a_build_error_is_shown_in_the_page_and_cleared_by_a_fix(
    preview: Preview, example: Path
) -> None:
    path = example / "issues" / f"{DRAFT}.toml"
    good = path.read_bytes()
    page = f"{preview.url}issues/{DRAFT}/index.html"
    write_atomic(path, good.replace(b'status = "draft"', b'status = "drafty"'))
    wait_for(lambda: fetch(page)[0] == 500, "the error page")
    body = fetch(page)[1]
    problems = lxml.html.fromstring(body).xpath("//ul[@class='problems']/li/text()")
    assert any(f"issues/{DRAFT}.toml" in p and "status" in p for p in problems)
    write_atomic(path, good)
    wait_for(lambda: fetch(page)[0] == 200, "the page after the fix")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_serves_until_stopped(example: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher", "preview", DRAFT, "--port", str(port)],
        cwd=example, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/issues/{DRAFT}/email.html"
        wait_for(lambda: proc.poll() is None and _answers(url), "the preview command")
        assert "<!--" in fetch(url)[1] or "<html" in fetch(url)[1]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in out


def test_a_busy_port_is_a_usage_error(example: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["preview", "--port", str(port), "--root", str(example)])
    assert isinstance(result.exception, UsageError)  # main() turns it into exit code 2
    assert f"--port {port}" in str(result.exception)


def _answers(url: str) -> bool:
    try:
        return fetch(url)[0] == 200
    except OSError:
        return False
