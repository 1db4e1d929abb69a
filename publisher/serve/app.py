"""The endpoint's ASGI application: `create_app(root)`, or `app_factory` for any ASGI server.

    uvicorn --factory publisher.serve.app:app_factory   (workspace: $PUBLISHER_ROOT or the cwd)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from publisher.config import Config
from publisher.delivery import ledger, tokens
from publisher.delivery.addresses import InvalidAddress, normalise_address
from publisher.delivery.db import guarded, open_ledger
from publisher.delivery.outbox import queue_confirmation
from publisher.errors import LedgerError
from publisher.records import one_line
from publisher.serve.guards import BodyLimit, RateLimit, check_post
from publisher.theme import make_environment

HONEYPOT = "website"
MESSAGES = {
    400: "The form was incomplete: it needs your email address.",
    404: "This link is not valid. It may have been cut short, or it has expired.",
    405: "This address does not answer that kind of request.",
    413: "That request was too large.",
    415: "Send the form as a web form (application/x-www-form-urlencoded).",
    429: "Too many requests from your address. Please try again later.",
    503: "The subscriber list is unavailable for a moment. Please try again shortly.",
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token in the URL must not leak to other sites
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@dataclass
class Endpoint:
    """What every request needs: settings, the ledger, the key, the templates, the limiter."""

    root: Path
    config: Config
    engine: Engine
    secret: bytes
    env: Environment
    limiter: RateLimit
    public_url: str = ""
    rendered: dict[str, str] = field(default_factory=dict)

    def base(self, request: Request) -> str:
        """Where links point: the configured endpoint; failing that, the request's own host."""
        return self.config.subscribers.endpoint or self.public_url or str(request.base_url)

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page of the theme; pages without context are rendered once."""
        html = self.rendered.get(name) if not context else None
        if html is None:
            html = self.env.get_template(f"serve/{name}.html").render(config=self.config, **context)
            if not context:
                self.rendered[name] = html
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    async def run(self, work: Callable[[], Any]) -> Any:
        """Ledger work off the event loop; a database that went away is a 503, not a crash."""
        def guarded_work() -> Any:
            with guarded(self.engine):
                return work()
        try:
            return await run_in_threadpool(guarded_work)
        except LedgerError as error:
            raise HTTPException(503) from error


async def form_of(request: Request) -> dict[str, str]:
    check_post(request.scope, request.headers)
    form = await request.form(max_files=0, max_fields=20)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def routes(ep: Endpoint) -> list[Route]:
    async def subscribe_form(request: Request) -> Response:
        return ep.page("subscribe", action=f"{ep.base(request)}subscribe")

    async def subscribe(request: Request) -> Response:
        form = await form_of(request)
        client = request.client.host if request.client else "unknown"
        if not ep.limiter.allow(client):  # before any work, whatever the form holds
            raise HTTPException(429)
        if form.get(HONEYPOT):  # a bot filled the hidden field: the same answer, nothing done
            return ep.page("check_inbox")
        if "email" not in form or not form["email"].strip():
            raise HTTPException(400)
        try:
            email = normalise_address(form["email"])
        except InvalidAddress as why:
            return ep.page("error", 400, message=f"That is not an email address we can use: {why}.")
        name = one_line(form.get("name", ""))[:200] or None
        await ep.run(lambda: send_confirmation(ep, request, email, name))
        return ep.page("check_inbox")

    async def confirm_page(request: Request) -> Response:
        confirm_target(ep, request)
        return ep.page("confirm", action=f"{ep.base(request)}confirm/{request.path_params['token']}")

    async def confirm(request: Request) -> Response:
        await form_of(request)
        subscriber_id = confirm_target(ep, request)
        if not await ep.run(lambda: ledger.confirm(ep.engine, subscriber_id, f"{ep.base(request)}subscribe")):
            raise HTTPException(404)  # a valid token for someone since forgotten
        return ep.page("confirmed")

    async def unsubscribe_page(request: Request) -> Response:
        unsubscribe_target(ep, request)
        return ep.page("unsubscribe", action=f"{ep.base(request)}unsubscribe/{request.path_params['token']}")

    async def unsubscribe(request: Request) -> Response:
        check_post(request.scope, request.headers)
        await request.body()  # RFC 8058: "List-Unsubscribe=One-Click"; any POST acts
        subscriber_id = unsubscribe_target(ep, request)
        await ep.run(lambda: ledger.unsubscribe_id(ep.engine, subscriber_id, "unsubscribe link (POST)"))
        return ep.page("unsubscribed")

    return [
        Route("/", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm/{token}", confirm_page, methods=["GET"]),
        Route("/confirm/{token}", confirm, methods=["POST"]),
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
    ]


def confirm_target(ep: Endpoint, request: Request) -> int:
    max_age = ep.config.subscribers.confirm_max_age_hours * 3600
    found = tokens.verify(request.path_params["token"], "confirm", ep.secret, max_age=max_age)
    if found is None:
        raise HTTPException(404)
    return found


def unsubscribe_target(ep: Endpoint, request: Request) -> int:
    found = tokens.verify(request.path_params["token"], "unsubscribe", ep.secret)
    if found is None:
        raise HTTPException(404)
    return found


def send_confirmation(ep: Endpoint, request: Request, email: str, name: str | None) -> None:
    """Record the request and write the confirmation message (none for the confirmed already)."""
    subscriber_id = ledger.subscribe_request(ep.engine, email, name, f"{ep.base(request)}subscribe")
    if subscriber_id is None:
        return
    queue_confirmation(ep.root, ep.config, ep.env, ep.base(request), ep.secret, subscriber_id, email, name)


def open_with_retry(root: Path, config: Config, attempts: int = 10, delay: float = 1.0,
                    on_retry: Callable[[LedgerError, int], None] | None = None) -> Engine:
    """The ledger, retrying while the database is not reachable yet (a PostgreSQL starting up)."""
    for attempt in range(1, attempts + 1):
        try:
            return open_ledger(root, config.subscribers)
        except LedgerError as error:
            if attempt == attempts or "reach" not in str(error):
                raise
            if on_retry:
                on_retry(error, attempt)
            time.sleep(min(delay * 2 ** (attempt - 1), 10.0))
    raise AssertionError("unreachable")


def create_app(root: Path, secret: bytes | None = None, engine: Engine | None = None,
               public_url: str = "") -> Starlette:
    """The endpoint for the workspace at `root`; PUBLISHER_SECRET is required.

    Set `[subscribers] endpoint` in production: without it (and without `public_url`) links are
    built from the request's Host header, which a client chooses.
    """
    from publisher.workspace import load_config

    config = load_config(root)
    key = secret if secret is not None else tokens.secret_from_env()
    ep = Endpoint(root, config, engine or open_with_retry(root, config), key,
                  make_environment(root / config.build.templates),
                  RateLimit(config.subscribers.rate_limit, config.subscribers.rate_window_seconds),
                  public_url)

    async def error_page(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        response = ep.page("error", code, message=MESSAGES.get(code, "Something went wrong."))
        if isinstance(exc, HTTPException) and exc.headers:
            response.headers.update(exc.headers)  # Allow for 405
        if code in (429, 503):
            response.headers["Retry-After"] = "60"
        return response

    app = Starlette(routes=routes(ep), exception_handlers={HTTPException: error_page})
    app.add_middleware(BodyLimit, limit=config.subscribers.max_body_bytes)
    return app


def app_factory() -> Starlette:
    """For `uvicorn --factory publisher.serve.app:app_factory`: the workspace is $PUBLISHER_ROOT."""
    return create_app(Path(os.environ.get("PUBLISHER_ROOT", ".")))
