"""One key per link: two URLs that open the same page compare equal. Pure."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that say who sent the reader, never which page: dropped before comparing.
TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "ref_url",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "cmpid",
        "s_cid",
        "amp",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
AMP_PATH_RE = re.compile(r"/amp(?:\.html)?/?$", re.IGNORECASE)


def is_tracking(name: str) -> bool:
    name = name.lower()
    return name in TRACKING or name.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """https, no www./amp. host prefix, no default port, no trailing slash, no /amp or
    ?amp=1, no tracking parameters, the rest of the query sorted; a non-empty #fragment
    is kept (one page of podcast episodes, #episode-21 and #episode-22, is two links)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in ("www.", "amp."):
        host = host.removeprefix(prefix)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: compare the URL as written
        return url.strip()
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = AMP_PATH_RE.sub("", parts.path).rstrip("/")
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)
    )
    scheme = "https" if scheme in ("http", "https") else scheme
    return urlunsplit((scheme, host, path, urlencode(query), parts.fragment))
