"""Dead-link checks over HTTP: concurrent, polite, and patient with busy servers.

HEAD first; GET when a server refuses HEAD (405, 501, or a reset connection). Redirects are
followed by hand, so each hop is reported and a loop is seen. 429 and 503 are retried after
their Retry-After (capped). At most `per_host` requests to one host at a time."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from publisher import __version__
from publisher.links.config import LinkCheck

MAX_HOPS = 10
REFUSED_HEAD = {405, 501}
BUSY = {429, 503}
PERMANENT = {301, 308}
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Hop:
    status: int
    location: str


@dataclass(frozen=True)
class LinkStatus:
    """What a link answered: the final status (None if none came), each redirect, any error."""

    url: str
    status: int | None
    hops: tuple[Hop, ...] = ()
    error: str = ""
    method: str = "HEAD"
    checked: float = field(default=0.0, compare=False)

    @property
    def final_url(self) -> str:
        return self.hops[-1].location if self.hops else self.url

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400 and not self.error

    @property
    def transient(self) -> bool:
        """Worth asking again next time rather than caching: no answer, busy, or 5xx."""
        return self.status is None or self.status in BUSY or self.status >= 500

    @property
    def permanent_target(self) -> str | None:
        """Where every hop moved permanently, when they all did: the link to write instead."""
        if self.ok and self.hops and all(h.status in PERMANENT for h in self.hops):
            return self.final_url
        return None


def user_agent(contact: str) -> str:
    """Names the tool, its version and whom to ask: a polite crawler's manners."""
    return f"publisher/{__version__} (newsletter link check; +{contact})"


def retry_after(response: httpx.Response, cap: float) -> float:
    """Seconds to wait: Retry-After as seconds or an HTTP date; 1 s when absent; at most cap."""
    value = response.headers.get("retry-after", "").strip()
    wait = 1.0
    if value.isdigit():
        wait = float(value)
    elif value:
        when = email.utils.parsedate_to_datetime(value) if "," in value else None
        wait = when.timestamp() - time.time() if when else 1.0
    return max(0.0, min(wait, cap))


class Checker:
    """Checks many links at once; one instance per run (it owns the HTTP client)."""

    def __init__(self, rules: LinkCheck, contact: str) -> None:
        self.rules = rules
        self.contact = contact
        self.hosts: dict[str, asyncio.Semaphore] = {}

    async def check_all(
        self, urls: Iterable[str], progress: Progress | None = None
    ) -> dict[str, LinkStatus]:
        todo = list(dict.fromkeys(urls))
        limits = httpx.Limits(max_connections=self.rules.concurrency)
        headers = {"user-agent": user_agent(self.contact), "accept": "*/*"}
        timeout = httpx.Timeout(self.rules.timeout)
        gate = asyncio.Semaphore(self.rules.concurrency)
        async with httpx.AsyncClient(headers=headers, timeout=timeout, limits=limits) as client:

            async def one(url: str) -> LinkStatus:
                async with gate:
                    found = await self.check(client, url)
                if progress:
                    progress(1)
                return found

            results = await asyncio.gather(*(one(u) for u in todo))
        return dict(zip(todo, results, strict=True))

    async def check(self, client: httpx.AsyncClient, url: str) -> LinkStatus:
        """Follow the link hop by hop, each hop under its host's limit."""
        hops: list[Hop] = []
        seen = {url}
        current = url
        while True:
            try:
                response, method = await self.ask(client, current)
            except httpx.TimeoutException:
                return LinkStatus(
                    url,
                    None,
                    tuple(hops),
                    f"no answer within {self.rules.timeout:g} s",
                    checked=time.time(),
                )
            except (httpx.HTTPError, OSError) as exc:
                return LinkStatus(
                    url,
                    None,
                    tuple(hops),
                    f"cannot connect: {exc or type(exc).__name__}",
                    checked=time.time(),
                )
            location = response.headers.get("location")
            if not (response.is_redirect and location):
                return LinkStatus(
                    url, response.status_code, tuple(hops), method=method, checked=time.time()
                )
            current = urljoin(current, location)
            hops.append(Hop(response.status_code, current))
            if current in seen or len(hops) > MAX_HOPS:
                chain = " -> ".join([url, *(h.location for h in hops)])
                what = "a redirect loop" if current in seen else f"more than {MAX_HOPS} redirects"
                return LinkStatus(
                    url, response.status_code, tuple(hops), f"{what}: {chain}", method, time.time()
                )
            seen.add(current)

    async def ask(self, client: httpx.AsyncClient, url: str) -> tuple[httpx.Response, str]:
        """One hop: HEAD, else GET; retried while the server says it is busy."""
        host = urlsplit(url).netloc.lower()
        gate = self.hosts.setdefault(host, asyncio.Semaphore(self.rules.per_host))
        for attempt in range(self.rules.retries + 1):
            async with gate:
                response, method = await self.head_then_get(client, url)
            if response.status_code not in BUSY or attempt == self.rules.retries:
                return response, method
            await asyncio.sleep(retry_after(response, self.rules.max_retry_after))
        raise AssertionError("unreachable")

    async def head_then_get(
        self, client: httpx.AsyncClient, url: str
    ) -> tuple[httpx.Response, str]:
        try:
            response = await client.head(url)
            if response.status_code not in REFUSED_HEAD:
                return response, "HEAD"
        except (httpx.RemoteProtocolError, httpx.ReadError):
            pass  # some servers drop the connection on HEAD: GET is the way in
        async with client.stream("GET", url) as response:  # the status, never the body
            return response, "GET"


def check_links(
    rules: LinkCheck, contact: str, urls: Iterable[str], progress: Progress | None = None
) -> dict[str, LinkStatus]:
    """Every URL's status, fetched concurrently."""
    return asyncio.run(Checker(rules, contact).check_all(urls, progress))
