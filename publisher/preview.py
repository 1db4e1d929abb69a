"""`publisher preview`: a local server on 127.0.0.1 that rebuilds drafts when the workspace changes."""

from __future__ import annotations

import html
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import watchfiles

from publisher.build import build
from publisher.errors import Problem, PublisherError
from publisher.workspace import load_config

HOST = "127.0.0.1"  # never all interfaces: drafts are not for the network to see
TYPES = {".txt": "text/plain; charset=utf-8", ".xml": "application/xml", ".eml": "message/rfc822"}
VERSION_PATH = "/__preview__/version"
RELOAD_SCRIPT = (
    "<script>(function(){var v=null;setInterval(function(){fetch('" + VERSION_PATH + "')"
    ".then(function(r){return r.text()}).then(function(t){if(v!==null&&t!==v)location.reload();"
    "v=t}).catch(function(){})},1000)})();</script>"
)


class Preview:
    """The preview's state: a private output folder, the last build's issues or problems."""

    def __init__(self, root: Path, issue: str | None = None, port: int = 8000) -> None:
        self.root, self.issue = root.resolve(), issue
        self._tmp = tempfile.TemporaryDirectory(prefix="publisher-preview-")
        self.out = Path(self._tmp.name) / "site"  # its generations go beside it, in the temp folder
        self.version, self.issues, self.problems = 0, list[str](), list[Problem]()
        self.lock, self.building = threading.Lock(), threading.Lock()
        self.built_from: tuple[tuple[str, int, int], ...] = ()
        self.watching = threading.Event()
        self.templates = templates_folder(self.root)
        self.stopping = threading.Event()
        handler = partial(PreviewHandler, preview=self, directory=str(self.out))
        self.httpd = ThreadingHTTPServer((HOST, port), handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_address[1]}/"

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """What the build reads: config.toml, issues/*.toml, the templates; with times and sizes."""
        files = [self.root / "config.toml", *(self.root / "issues").glob("*.toml")]
        files += [p for p in (self.root / self.templates).rglob("*") if p.is_file()]
        stats = []
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            stats.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(stats))

    def refresh(self) -> None:
        """Rebuild if the workspace changed since the last build (a missed event is caught here)."""
        with self.building:
            if self.fingerprint() != self.built_from:
                self.rebuild()

    def rebuild(self) -> None:
        """Build drafts into the preview folder; a failure is kept to be shown, never raised."""
        self.built_from = self.fingerprint()
        issues: list[str] = []
        try:
            # In this thread, never forking: a fork of a threaded server can inherit a held lock.
            ids = [self.issue] if self.issue else None
            result = build(self.root, ids, self.out, drafts=True, parallel=False)
            issues, problems = result.issues, []
        except PublisherError as exc:
            problems = exc.problems
        except Exception as exc:  # a bug in a template or stage must not stop the server
            problems = [Problem("build", f"unexpected error: {type(exc).__name__}: {exc}")]
        with self.lock:
            self.issues = issues or self.issues
            self.problems = problems
            self.version += 1

    def watch(self) -> None:
        """Rebuild after every change to issues/, config.toml or the templates folder.

        The root is watched, not config.toml itself: an atomic save replaces the file, and a
        watch on the old file would see nothing more."""
        self.watching.set()
        for _ in watchfiles.watch(
            self.root, watch_filter=self.relevant, stop_event=self.stopping,
            debounce=200, step=50, yield_on_timeout=False,
        ):  # fmt: skip
            self.refresh()

    def relevant(self, change: Any, path: str) -> bool:
        try:
            rel = Path(path).resolve().relative_to(self.root).parts
        except ValueError:
            return False
        if not rel or rel[-1].startswith("."):
            return False  # write_atomic's temporary files, editors' swap files
        top = Path(self.templates).parts[:1]
        return rel == ("config.toml",) or rel[0] == "issues" or rel[:1] == top

    def start(self) -> None:
        """Build once, then serve and watch in background threads."""
        self.refresh()
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        threading.Thread(target=self.watch, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._tmp.cleanup()


def templates_folder(root: Path) -> str:
    """The theme folder config.toml names; 'templates' while config.toml cannot be read."""
    try:
        return load_config(root).build.templates
    except PublisherError:
        return "templates"


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves the preview folder; the dashboard at /; the build's problems instead of pages."""

    def __init__(self, *args: Any, preview: Preview, **kwargs: Any) -> None:
        self.preview = preview
        self.extensions_map = {**self.extensions_map, **TYPES}  # before: __init__ serves
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if not self.local_host():
            return self.send_error(403, "preview answers only to 127.0.0.1 and localhost")
        path = self.path.split("?", 1)[0]
        if path != VERSION_PATH:
            self.preview.refresh()
        with self.preview.lock:
            version, problems, issues = (
                self.preview.version,
                self.preview.problems,
                self.preview.issues,
            )
        if path == VERSION_PATH:
            return self.send_text(str(version), "text/plain")
        if problems and (path == "/" or path.endswith((".html", "/"))):
            return self.send_text(error_page(problems), "text/html", 500)
        if path == "/":
            return self.send_text(dashboard(issues, self.preview.issue), "text/html")
        if path.endswith(".html") or path.endswith("/"):
            return self.send_page()
        return super().do_GET()

    def local_host(self) -> bool:
        """Refuse other Host names: a web page could point one at 127.0.0.1 (DNS rebinding)."""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "")

    def send_page(self) -> None:
        """An HTML file of the build, with the script that reloads it after a rebuild."""
        file = Path(self.translate_path(self.path))
        file = file / "index.html" if file.is_dir() else file
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            return self.send_error(404, "not in this build")
        body = (
            text.replace("</body>", RELOAD_SCRIPT + "</body>")
            if "</body>" in text
            else text + RELOAD_SCRIPT
        )
        self.send_text(body, "text/html")

    def send_text(self, text: str, kind: str, status: int = 200) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal is the editor's, not a request log."""


def page(title: str, body: str) -> str:
    style = (
        "body{font:16px/1.5 system-ui,sans-serif;margin:1.5rem;color:#222}"
        ".views{display:flex;gap:1rem}.views iframe{border:1px solid #ccc;height:80vh}"
        ".problems li{color:#a00;white-space:pre-wrap;font-family:monospace}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{style}</style></head><body>{body}{RELOAD_SCRIPT}</body></html>"
    )


def error_page(problems: list[Problem]) -> str:
    """The build's problems, in place of the page; it reloads itself once they are fixed."""
    items = "".join(f"<li>{html.escape(str(p))}</li>" for p in problems)
    body = (
        f"<h1>The build failed: {len(problems)} problem{'s' if len(problems) != 1 else ''}</h1>"
        f'<ul class="problems">{items}</ul><p>Fix the files; this page reloads by itself.</p>'
    )
    return page("Build failed — publisher preview", body)


def dashboard(issues: list[str], chosen: str | None) -> str:
    """Every built issue with its web view and email; the chosen (or first) one shown side by side."""
    rows = "".join(
        f'<li>{html.escape(i)}: <a href="/issues/{i}/index.html">web view</a> · '
        f'<a href="/issues/{i}/email.html">email</a> · <a href="/issues/{i}/email.txt">plain text</a></li>'
        for i in issues
    )
    shown = chosen or (issues[-1] if issues else None)
    views = (
        f'<div class="views"><iframe title="web view" src="/issues/{shown}/index.html" style="flex:3"></iframe>'
        f'<iframe title="email" src="/issues/{shown}/email.html" style="flex:2"></iframe></div>'
        if shown
        else "<p>No issues yet: start one with <code>publisher new</code>.</p>"
    )
    body = f'<h1>Preview</h1><p><a href="/index.html">The archive</a></p><ul>{rows}</ul>{views}'
    return page("publisher preview", body)
