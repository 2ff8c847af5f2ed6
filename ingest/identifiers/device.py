"""Device columns (设备号): classify by shape into IMEI, advertising ID, Android ID (refused) or vendor fingerprint."""

from __future__ import annotations

import re

from . import ad_id, imei
from ._common import EMPTY_REASON, clean, remove
from .result import IdentifierType, Invalid, Normalized

_FINGERPRINT = IdentifierType.DEVICE_FINGERPRINT.value
ANDROID_ID_REASON = (
    "Android ID is per app-signing key, not matchable across firms, so it is not a shared indicator; "
    "report the device's IMEI, OAID or a vendor device fingerprint instead"
)
UNCLASSIFIABLE_REASON = (
    "unclassifiable device identifier; accepted shapes: IMEI (14–15 digits), IMEISV (16 digits), "
    "OAID/IDFA (UUID), or a device fingerprint whose vendor is named by the column (e.g. 同盾设备指纹) "
    "or by a prefix such as tongdun:… / shumei:…"
)
# Chinese vendor names as they appear in column headers → the slug used in fingerprint values.
VENDOR_SLUGS = {
    "同盾": "tongdun", "数美": "shumei", "顶象": "dingxiang", "极验": "geetest", "阿里": "aliyun",
    "腾讯": "tencent", "个推": "getui", "友盟": "umeng", "邦盛": "bangsun",
}
_SLUG = re.compile(r"[a-z0-9_-]{2,32}")
_BODY = re.compile(r"[A-Za-z0-9_\-+/=.:]{8,128}")
_HEX16 = re.compile(r"[0-9a-fA-F]{16}")
_URL_SCHEMES = {"http", "https", "ftp"}
_DIGITS = re.compile(r"[0-9][0-9 \-]*[0-9]")


def vendor_slug(vendor: str) -> str | None:
    """`同盾设备指纹` → `tongdun`, `Shumei` → `shumei`; None when no vendor can be read from it."""
    text = clean(vendor)
    for name, slug in VENDOR_SLUGS.items():
        if name in text:
            return slug
    text = text.lower()
    return text if _SLUG.fullmatch(text) else None


def refuse_android_id(raw: str) -> Invalid:
    return Invalid("android_id", ANDROID_ID_REASON if clean(raw) else EMPTY_REASON)


def normalize(raw: str, *, vendor: str | None = None) -> Normalized | Invalid:
    """A generic device column: an explicit vendor prefix wins, then the shape decides."""
    text = clean(raw)
    if not text:
        return Invalid("device", EMPTY_REASON)
    if _prefixed_vendor(text):
        return normalize_fingerprint(text, vendor=vendor)
    if _DIGITS.fullmatch(text) and 14 <= len(remove(text, " -")) <= 16:
        return imei.normalize(text)
    if ad_id.looks_like_ad_id(text):
        return ad_id.normalize(text)
    if _HEX16.fullmatch(text):
        return refuse_android_id(text)
    if vendor is not None:
        return normalize_fingerprint(text, vendor=vendor)
    return Invalid("device", UNCLASSIFIABLE_REASON)


def normalize_fingerprint(raw: str, *, vendor: str | None = None) -> Normalized | Invalid:
    """A vendor device fingerprint, stored as `vendor:fingerprint` (fingerprint case preserved)."""
    text = clean(raw)
    if not text:
        return Invalid(_FINGERPRINT, EMPTY_REASON)
    named = vendor_slug(vendor) if vendor else None
    if vendor and named is None:
        return Invalid(_FINGERPRINT, "the fingerprint vendor is not recognised; name it in ASCII (e.g. tongdun, shumei)")
    prefixed = _prefixed_vendor(text)
    body = text
    if prefixed and (named is None or prefixed == named):
        body = text.split(":", 1)[1]
    slug = named or prefixed
    if slug is None:
        return Invalid(
            _FINGERPRINT,
            "a device fingerprint needs its vendor: name it in the column header (e.g. 同盾设备指纹) "
            "or prefix the value (e.g. tongdun:…)",
        )
    if not _BODY.fullmatch(body):
        return Invalid(
            _FINGERPRINT,
            "a device fingerprint is 8–128 characters of letters, digits and _-+/=.: (no spaces or other symbols)",
        )
    return Normalized(IdentifierType.DEVICE_FINGERPRINT, f"{slug}:{body}", {"vendor": slug})


def _prefixed_vendor(text: str) -> str | None:
    if ":" not in text:
        return None
    prefix, body = text.split(":", 1)
    if not body or prefix.lower() in _URL_SCHEMES:  # "http://…" is a URL, not a vendor prefix
        return None
    return vendor_slug(prefix) if prefix else None
