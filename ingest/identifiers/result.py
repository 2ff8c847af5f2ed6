"""The outcome of normalizing one raw identifier: a value the alliance can match, or a reason it cannot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


class IdentifierType(str, Enum):
    """Indicator types: the namespace an indicator's key lives in (two inputs match only within one type)."""

    PHONE = "phone"
    ID_NUMBER = "id_number"
    BANK_CARD = "bank_card"
    IMEI = "imei"
    AD_ID = "ad_id"  # OAID (Android) and IDFA (iOS) share one namespace: a UUID names one device either way
    DEVICE_FINGERPRINT = "device_fingerprint"
    IP = "ip"
    URL = "url"
    DOMAIN = "domain"
    EMAIL = "email"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    QQ = "qq"


@dataclass(frozen=True)
class Normalized:
    """A matchable identifier: `value` is the canonical form that gets pseudonymized, never stored raw."""

    type: IdentifierType
    value: str
    attributes: Mapping[str, str] = field(default_factory=dict)  # derived, non-identifying (region, carrier…)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invalid:
    """A refused identifier. `benign` marks known-harmless numbers (emergency, bank/telecom service lines)."""

    type: str
    reason: str
    benign: bool = False


NormalizeResult = Normalized | Invalid
