"""Social and payment accounts: WeChat, Alipay and QQ."""

from __future__ import annotations

import re

from . import email, phone
from ._common import EMPTY_REASON, clean, remove
from .result import IdentifierType, Invalid, Normalized

_WECHAT_ID = re.compile(r"[a-z][a-z0-9_-]{5,19}")
_WXID = re.compile(r"wxid_[a-z0-9_-]{4,40}")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 \-().]*")
_QQ = re.compile(r"[1-9][0-9]{4,10}")
_CN_MOBILE_TYPES = {"mobile", "fixed_line_or_mobile"}


def normalize_wechat(raw: str) -> Normalized | Invalid:
    text = clean(raw)
    kind = IdentifierType.WECHAT
    if not text:
        return Invalid(kind.value, EMPTY_REASON)
    if _PHONE_LIKE.fullmatch(text):
        number = phone.normalize(text)
        if isinstance(number, Normalized) and _is_cn_mobile(number):
            return Normalized(kind, number.value, {"account_kind": "phone"})
        return Invalid(
            kind.value,
            "a numeric WeChat account must be the mainland mobile number bound to it (11 digits starting with 1); "
            "otherwise give the WeChat ID (6–20 letters, digits, _ or -, starting with a letter) or wxid_…",
        )
    text = text.lower()
    if _WXID.fullmatch(text) or _WECHAT_ID.fullmatch(text):
        return Normalized(kind, text, {"account_kind": "wechat_id"})
    return Invalid(
        kind.value,
        "not a WeChat ID: give 6–20 letters, digits, _ or - starting with a letter, a wxid_… ID, "
        "or the mainland mobile number bound to the account",
    )


def normalize_qq(raw: str) -> Normalized | Invalid:
    text = remove(clean(raw), " ")
    kind = IdentifierType.QQ
    if not text:
        return Invalid(kind.value, EMPTY_REASON)
    if not _QQ.fullmatch(text):
        return Invalid(kind.value, "a QQ number is 5–11 digits and does not start with 0 (give a QQ mailbox as an e-mail)")
    return Normalized(kind, text)


def normalize_alipay(raw: str) -> Normalized | Invalid:
    """An Alipay account is a phone number or an e-mail address, normalized as such but typed ALIPAY."""
    text = clean(raw)
    kind = IdentifierType.ALIPAY
    if not text:
        return Invalid(kind.value, EMPTY_REASON)
    if "@" in text:
        inner, account_kind = email.normalize(text), "email"
    else:
        inner, account_kind = phone.normalize(text), "phone"
    if isinstance(inner, Invalid):
        return Invalid(kind.value, f"an Alipay account is a phone number or an e-mail address; as {account_kind}: {inner.reason}", inner.benign)
    return Normalized(kind, inner.value, {**inner.attributes, "account_kind": account_kind}, inner.warnings)


def _is_cn_mobile(number: Normalized) -> bool:
    return number.attributes.get("country") == "CN" and number.attributes.get("phone_type") in _CN_MOBILE_TYPES
