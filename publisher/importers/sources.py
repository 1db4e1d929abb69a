"""Where records come from: a file or a URL, and which kind of document it holds."""

from __future__ import annotations

import gzip
import io
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from publisher import __version__
from publisher.errors import Problem, PublisherError

Kind = Literal["feed", "json", "csv"]
TIMEOUT = 10.0
MAX_BYTES = 50_000_000
GZIP_MAGIC = b"\x1f\x8b"


class SourceError(PublisherError):
    """An import source cannot be fetched, read or parsed."""


@dataclass(frozen=True)
class Source:
    label: str
    data: bytes
    kind: Kind
    base: str = ""


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def read_source(source: str, timeout: float = TIMEOUT) -> Source:
    """The bytes of a file or URL and what they are (by extension, type or first byte)."""
    if is_url(source):
        data, content_type, final_url = fetch(source, timeout)
        data = gunzip(data, source)
        return Source(source, data, sniff(source.removesuffix(".gz"), data, content_type), final_url)
    path = Path(source)
    data = gunzip(read_file(path), source)
    return Source(source, data, sniff(path.name.removesuffix(".gz"), data, ""))


def gunzip(data: bytes, label: str) -> bytes:
    """A gzip-compressed file (feed.xml.gz, or a saved response) is read as what it holds."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return stream.read(MAX_BYTES)
    except (OSError, EOFError) as exc:
        raise SourceError(Problem(label, f"a damaged gzip file: {exc}", hint="fetch it again")) from exc


def read_file(path: Path) -> bytes:
    label = str(path)
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(Problem(label, "no such file", hint="check the path")) from exc
    except IsADirectoryError as exc:
        raise SourceError(Problem(label, "is a folder, not a file")) from exc
    except OSError as exc:
        raise SourceError(Problem(label, f"cannot read the file: {exc.strerror or exc}")) from exc


def fetch(url: str, timeout: float) -> tuple[bytes, str, str]:
    """GET a URL; every way it can fail becomes a SourceError naming the URL."""
    request = urllib.request.Request(url, headers={"User-Agent": f"publisher/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(MAX_BYTES)
            return data, response.headers.get("Content-Type", ""), response.geturl()
    except urllib.error.HTTPError as exc:
        message = f"the server answered {exc.code} {exc.reason}"
        raise SourceError(Problem(url, message, hint="check the address")) from exc
    except urllib.error.URLError as exc:
        message = f"no answer: {getattr(exc.reason, 'strerror', None) or exc.reason}"
        raise SourceError(Problem(url, message, hint="check the address and your network")) from exc
    except TimeoutError as exc:
        message = f"no answer within {timeout:g} s"
        raise SourceError(Problem(url, message, hint="try again later")) from exc
    except (OSError, ValueError) as exc:
        raise SourceError(Problem(url, f"cannot fetch it: {exc}")) from exc


def sniff(name: str, data: bytes, content_type: str) -> Kind:
    suffix = Path(urlsplit(name).path).suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson") or "json" in content_type:
        return "json"
    if suffix in (".csv", ".tsv") or "text/csv" in content_type:
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"[", b"{") else "feed"
