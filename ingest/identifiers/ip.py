"""IP addresses: canonical text; only public addresses are indicators another firm could also see."""

from __future__ import annotations

import ipaddress

from ._common import EMPTY_REASON, clean
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.IP.value
_NOT_PUBLIC = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private (internal network)"),
    ("is_reserved", "reserved"),
)


def normalize(raw: str) -> Normalized | Invalid:
    text = clean(raw)
    if not text:
        return Invalid(_TYPE, EMPTY_REASON)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        return Invalid(_TYPE, "an IPv6 zone (%…) names a local interface, not a public address; give a public IP")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return Invalid(
            _TYPE,
            "not an IP address; give one IPv4 (e.g. 203.0.113.7, no leading zeros) or IPv6 address, "
            "without port, mask or zone",
        )
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for attribute, kind in _NOT_PUBLIC:
        if getattr(address, attribute):
            return Invalid(_TYPE, f"a {kind} address is not public and not matchable across firms; give a public IP")
    if not address.is_global:
        return Invalid(_TYPE, "a shared or special-purpose address is not public and not matchable across firms; give a public IP")
    return Normalized(IdentifierType.IP, str(address), {"version": str(address.version)})
