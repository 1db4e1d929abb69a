"""`publisher serve`: run the endpoint on uvicorn (one worker; put a reverse proxy in front)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port.")] = 8080,
    forwarded_allow_ips: Annotated[str, typer.Option(
        help="Proxies whose X-Forwarded-For names the client (for the rate limit); comma-separated.")] = "127.0.0.1",
    db_attempts: Annotated[int, typer.Option(
        min=1, help="Times to try reaching the database at start (waits grow to 10 s).")] = 30,
    root: Annotated[Path, typer.Option("--root", "-C", help="The workspace folder.", show_default=False)] = Path("."),
) -> None:
    """Serve subscribe, confirm and unsubscribe pages; needs PUBLISHER_SECRET in the environment.

    Example: PUBLISHER_SECRET=... publisher serve --port 8080
    """
    import uvicorn

    from publisher.delivery.tokens import secret_from_env
    from publisher.serve.app import create_app, open_with_retry
    from publisher.workspace import load_config

    secret = secret_from_env()  # refuse to start without it, before anything else
    config = load_config(root)
    engine = open_with_retry(root, config, attempts=db_attempts, on_retry=lambda error, n: err.print(
        f"waiting for the database (attempt {n}): {error}", markup=False))
    public = config.subscribers.endpoint
    if not public:
        public = f"http://{host}:{port}/"
        err.print(f"note: [subscribers] endpoint is not set; links in messages point to {public}", markup=False)
    app = create_app(root, secret, engine, public)
    err.print(f"Serving the subscription endpoint on http://{host}:{port}/ ; Ctrl-C to stop", markup=False)
    # No access log: it would record client addresses and tokens.
    uvicorn.run(app, host=host, port=port, workers=1, access_log=False, log_level="warning",
                proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips, server_header=False)
