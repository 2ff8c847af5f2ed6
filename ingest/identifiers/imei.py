"""IMEI: 14 digits plus a Luhn check digit; an IMEISV (16 digits) reduces to its IMEI."""

from __future__ import annotations

from ._common import EMPTY_REASON, clean, luhn_check_digit, remove
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.IMEI.value


def normalize(raw: str) -> Normalized | Invalid:
    digits = remove(clean(raw), " \t-/")
    if not digits:
        return Invalid(_TYPE, EMPTY_REASON)
    if not digits.isdigit() or len(digits) not in (14, 15, 16):
        return Invalid(
            _TYPE,
            "an IMEI is 15 digits (14 without the check digit); an IMEISV is 16 digits — "
            "MEIDs, serial numbers and hex values are not accepted",
        )
    core = digits[:14]
    if core.strip("0") == "":
        return Invalid(_TYPE, "an all-zero IMEI is a placeholder reported by emulators or blocked devices, not a device")
    check = luhn_check_digit(core)
    if len(digits) == 15 and digits[14] != check:
        return Invalid(_TYPE, "the IMEI check digit (15th digit) is wrong; a digit was probably mistyped")
    # IMEISV's last two digits are the software version: the device is the 14-digit core.
    return Normalized(IdentifierType.IMEI, core + check, {"tac": core[:8]})
