"""Advertising IDs — OAID (Android) and IDFA (iOS): UUID-shaped, lower-cased; all zeros means the user opted out."""

from __future__ import annotations

import re

from ._common import EMPTY_REASON, clean
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.AD_ID.value
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX32 = re.compile(r"[0-9a-f]{32}")
PLATFORMS = ("android", "ios", "unknown")


def looks_like_ad_id(text: str) -> bool:
    text = text.lower()
    return bool(UUID.fullmatch(text) or HEX32.fullmatch(text))


def normalize(raw: str, *, platform: str = "unknown") -> Normalized | Invalid:
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {PLATFORMS}")
    text = clean(raw).lower()
    if not text:
        return Invalid(_TYPE, EMPTY_REASON)
    if HEX32.fullmatch(text):
        text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if not UUID.fullmatch(text):
        return Invalid(
            _TYPE,
            "an OAID/IDFA is UUID-shaped: 32 hex digits, as 8-4-4-4-12 with dashes or without them",
        )
    if text.replace("-", "").strip("0") == "":
        return Invalid(_TYPE, "an all-zero OAID/IDFA means the user opted out of ad tracking: there is no identifier")
    return Normalized(IdentifierType.AD_ID, text, {"platform": platform})
