"""Identifier rules: one module per identifier type, reached by input type name through `normalize`."""

from __future__ import annotations

from typing import Callable

from . import accounts, ad_id, bank_card, device, email, id_number, imei, ip, phone, web
from .result import IdentifierType, Invalid, Normalized, NormalizeResult

__all__ = ["INPUT_TYPES", "IdentifierType", "Invalid", "Normalized", "NormalizeResult", "normalize"]

_Rule = Callable[[str, "str | None"], NormalizeResult]

# Input type name (what a column or API field says it holds) → rule. Several names may share one
# indicator type: oaid, idfa and ad_id all become AD_ID; imei and imeisv both become IMEI.
_RULES: dict[str, _Rule] = {
    "phone": lambda raw, vendor: phone.normalize(raw),
    "id_number": lambda raw, vendor: id_number.normalize(raw),
    "bank_card": lambda raw, vendor: bank_card.normalize(raw),
    "imei": lambda raw, vendor: imei.normalize(raw),
    "imeisv": lambda raw, vendor: imei.normalize(raw),
    "oaid": lambda raw, vendor: ad_id.normalize(raw, platform="android"),
    "idfa": lambda raw, vendor: ad_id.normalize(raw, platform="ios"),
    "ad_id": lambda raw, vendor: ad_id.normalize(raw),
    "device": lambda raw, vendor: device.normalize(raw, vendor=vendor),
    "device_fingerprint": lambda raw, vendor: device.normalize_fingerprint(raw, vendor=vendor),
    "android_id": lambda raw, vendor: device.refuse_android_id(raw),
    "ip": lambda raw, vendor: ip.normalize(raw),
    "url": lambda raw, vendor: web.normalize_url(raw),
    "domain": lambda raw, vendor: web.normalize_domain(raw),
    "email": lambda raw, vendor: email.normalize(raw),
    "wechat": lambda raw, vendor: accounts.normalize_wechat(raw),
    "alipay": lambda raw, vendor: accounts.normalize_alipay(raw),
    "qq": lambda raw, vendor: accounts.normalize_qq(raw),
}
INPUT_TYPES: tuple[str, ...] = tuple(_RULES)


def normalize(type_name: str, raw: object, *, vendor: str | None = None) -> NormalizeResult:
    """Normalize one raw value given as `type_name` (case-insensitive); `vendor` names a fingerprint's vendor.

    `raw` may be a non-string spreadsheet cell: it is converted with str(), so a float phone becomes
    `13800138000.0` and is refused as having passed through a numeric cell.
    """
    name = (type_name or "").strip().lower()
    rule = _RULES.get(name)
    if rule is None:
        return Invalid(name, f"unknown identifier type {type_name!r}; accepted types: {', '.join(INPUT_TYPES)}")
    return rule("" if raw is None else str(raw), vendor)
