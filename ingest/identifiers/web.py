"""URLs and domains of scam sites: hosts lower-cased and IDNA-encoded so 例子.中国 and xn--… match."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

import idna

from . import ip
from ._common import EMPTY_REASON, clean
from .result import IdentifierType, Invalid, Normalized

_URL = IdentifierType.URL.value
_DOMAIN = IdentifierType.DOMAIN.value
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
DOMAIN_RULES = "a domain is dot-separated labels of letters, digits and hyphens ending in a letter TLD, e.g. example.com or 例子.中国"


def host_of(text: str) -> str | None:
    """The ASCII (IDNA) form of a domain, or None when it is not a valid domain."""
    text = text.lower().rstrip(".")
    if not text or "." not in text:
        return None
    try:
        ascii_host = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_host if _TLD.fullmatch(labels[-1]) else None


def normalize_domain(raw: str) -> Normalized | Invalid:
    text = clean(raw)
    if not text:
        return Invalid(_DOMAIN, EMPTY_REASON)
    if "/" in text or ":" in text or "@" in text:
        return Invalid(_DOMAIN, "give the domain only (e.g. example.com), not a URL, port or e-mail; " + DOMAIN_RULES)
    host = host_of(text)
    if host is None:
        return Invalid(_DOMAIN, "not a valid domain; " + DOMAIN_RULES)
    return Normalized(IdentifierType.DOMAIN, host)


def normalize_url(raw: str) -> Normalized | Invalid:
    text = clean(raw)
    if not text:
        return Invalid(_URL, EMPTY_REASON)
    if "://" not in text:
        if host_of(re.split(r"[/:?#]", text, maxsplit=1)[0]) is None:
            return Invalid(_URL, "not a URL; give an http(s) address such as https://example.com/path")
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return Invalid(_URL, "the URL is malformed (bad host or port); give an address such as https://example.com/path")
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return Invalid(_URL, "only http and https URLs are accepted")
    host = _url_host(parts.hostname or "")
    if isinstance(host, Invalid):
        return host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    # Userinfo and fragment never reach the server that serves the scam page: drop them.
    value = urlunsplit((scheme, netloc, path, query, ""))
    return Normalized(IdentifierType.URL, value, {"domain": host.strip("[]")})


def _url_host(hostname: str) -> str | Invalid:
    if not hostname:
        return Invalid(_URL, "the URL has no host; give an address such as https://example.com/path")
    if re.fullmatch(r"[0-9.]+|[0-9a-f:.]*:[0-9a-f:.]*", hostname):
        address = ip.normalize(hostname)
        if isinstance(address, Invalid):
            return Invalid(_URL, "the URL's host must be a domain or a public IP address: " + address.reason)
        return f"[{address.value}]" if ":" in address.value else address.value
    host = host_of(hostname)
    if host is None:
        return Invalid(_URL, "the URL's host is not a valid domain; " + DOMAIN_RULES)
    return host
