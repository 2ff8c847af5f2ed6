"""Bank card numbers: 12–19 digits; a Luhn failure is only a warning (some domestic cards do not use it)."""

from __future__ import annotations

from ._common import EMPTY_REASON, clean, luhn_valid, remove
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.BANK_CARD.value
LUHN_WARNING = "the card number fails the Luhn check; kept because some domestic cards do not use it — verify the digits"


def normalize(raw: str) -> Normalized | Invalid:
    digits = remove(clean(raw), " \t-")
    if not digits:
        return Invalid(_TYPE, EMPTY_REASON)
    if not digits.isdigit():
        return Invalid(_TYPE, "a bank card number may contain only digits (spaces and dashes are ignored)")
    if not 12 <= len(digits) <= 19:
        return Invalid(_TYPE, f"a bank card number has 12–19 digits, this value has {len(digits)}")
    if digits.strip("0") == "":
        return Invalid(_TYPE, "an all-zero card number is a placeholder, not a card")
    warnings = () if luhn_valid(digits) else (LUHN_WARNING,)
    network = card_network(digits)
    return Normalized(IdentifierType.BANK_CARD, digits, {"card_network": network} if network else {}, warnings)


def card_network(digits: str) -> str | None:
    """The card scheme where the issuer identification number makes it obvious."""
    if digits.startswith("62"):
        return "unionpay"
    if digits.startswith("4"):
        return "visa"
    if digits.startswith(("34", "37")):
        return "amex"
    if digits.startswith("35"):
        return "jcb"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    return None
