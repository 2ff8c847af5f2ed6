"""E-mail addresses: one @, a 1–64 character local part, a valid domain; lower-cased as a whole."""

from __future__ import annotations

import re

from ._common import EMPTY_REASON, clean
from .result import IdentifierType, Invalid, Normalized
from .web import DOMAIN_RULES, host_of

_TYPE = IdentifierType.EMAIL.value
_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def normalize(raw: str) -> Normalized | Invalid:
    text = clean(raw).lower().removeprefix("mailto:")
    if not text:
        return Invalid(_TYPE, EMPTY_REASON)
    if text.count("@") != 1:
        return Invalid(_TYPE, "an e-mail address has exactly one @, e.g. name@example.com")
    local, domain = text.split("@")
    if not 1 <= len(local) <= 64:
        return Invalid(_TYPE, "the part before @ must be 1–64 characters")
    if not _LOCAL.fullmatch(local):
        return Invalid(
            _TYPE,
            "the part before @ may hold ASCII letters, digits and . _ - + (no spaces, no leading, trailing or double dots)",
        )
    host = host_of(domain)
    if host is None:
        return Invalid(_TYPE, "the part after @ is not a valid domain; " + DOMAIN_RULES)
    return Normalized(IdentifierType.EMAIL, f"{local}@{host}", {"domain": host})
