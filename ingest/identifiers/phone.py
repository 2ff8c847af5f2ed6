"""Phone numbers: libphonenumber, default region CN, stored as E.164.

Most leads carry mainland mobiles, and asking libphonenumber about each one dominated batch validation. For an
11-digit mobile everything libphonenumber says — validity, type, zh region, original carrier — depends
only on its first 7 digits: the CN metadata patterns for 11-digit numbers starting with 1 decide within
6 digits, and the geocoder and carrier tables key on at most "86" + 7 digits. So those numbers skip the
parser and ask libphonenumber once per 7-digit block (`_MobileBlocks`); every other number is parsed.
`normalize_by_parsing` is the same rule without that shortcut, the reference the shortcut is tested against.
"""

from __future__ import annotations

import re
import threading
from array import array

import phonenumbers
from phonenumbers import PhoneNumberType, carrier, geocoder, shortnumberinfo

from ._common import EMPTY_REASON, clean, remove
from .benign import service_number_label
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.PHONE.value
_SEPARATORS = " \t-.()/\u2010\u2013\u2014"
_ALLOWED = re.compile(r"\+?[0-9 \t\-.()/\u2010\u2013\u2014]+")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_NUMERIC_CELL = re.compile(r"\+?\d+[.,]0+")
_TYPE_NAMES = {value: name.lower() for name, value in vars(PhoneNumberType).items() if name.isupper()}
# The types carrier.name_for_number looks up; it returns "" for the rest.
_CARRIER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER})

# An 11-digit mainland mobile, bare or after +86 / 0086 / 86. Blocks 11x, 12x and 179 are left to the
# parser: they begin like CN international and carrier-selection prefixes (1[12]xx00, 179xx), which
# libphonenumber strips or keeps depending on later digits (17951001110 parses as +1 110).
_MOBILE_BODY = r"(1(?:[3-689][0-9]|7[0-8])[0-9]{8})"
_MAINLAND_MOBILE = re.compile(r"(?:\+86|0086|86)?" + _MOBILE_BODY)
_MAINLAND_MOBILE_E164 = re.compile(r"\+86" + _MOBILE_BODY)

SPREADSHEET_REASON = (
    "the value lost digits in a spreadsheet (it was stored as a number, e.g. 1.38001E+10 or 13800138000.0); "
    "re-export the column as text — the original number cannot be recovered from it"
)
NOT_A_NUMBER_REASON = "not a phone number; give a mainland number (e.g. 13800138000) or +country code"
INVALID_NUMBER_REASON = (
    "not a valid phone number for its country (wrong length or unassigned prefix); check the digits — "
    "mainland mobiles have 11 digits starting with 1, landlines need their area code"
)


def normalize(raw: str, *, region: str = "CN") -> Normalized | Invalid:
    digits = _digits(raw)
    if isinstance(digits, Invalid):
        return digits
    mobile = _MAINLAND_MOBILE.fullmatch(digits) if region == "CN" else None
    if mobile:
        return _mainland_mobile(mobile.group(1))
    return _parsed(digits, region)


def normalize_by_parsing(raw: str, *, region: str = "CN") -> Normalized | Invalid:
    """`normalize` with every number through phonenumbers.parse: slower, same results."""
    digits = _digits(raw)
    return digits if isinstance(digits, Invalid) else _parsed(digits, region)


def mainland_mobile_digits(e164: str) -> str | None:
    """The 11 national digits of an E.164 mainland mobile (as libphonenumber would parse them), else None."""
    match = _MAINLAND_MOBILE_E164.fullmatch(e164)
    return match.group(1) if match else None


def _digits(raw: str) -> str | Invalid:
    """The number with formatting removed (a leading + kept), or why it is refused before any parsing."""
    digits = clean(raw)
    if not (digits.isascii() and digits.isdigit()):  # a bare number passes every check below unchanged
        refusal = _refusal(digits)
        if refusal:
            return refusal
        digits = remove(digits, _SEPARATORS)
    label = service_number_label(digits.lstrip("+"))
    return _benign(label) if label else digits


def _refusal(text: str) -> Invalid | None:
    if not text:
        return Invalid(_TYPE, EMPTY_REASON)
    if _SCIENTIFIC.fullmatch(text) or _NUMERIC_CELL.fullmatch(text):
        return Invalid(_TYPE, SPREADSHEET_REASON)
    if not _ALLOWED.fullmatch(text):
        return Invalid(
            _TYPE,
            "a phone number may contain only digits, a leading +, spaces, dashes, dots and parentheses; "
            "remove letters, extensions and notes",
        )
    return None


def _parsed(digits: str, region: str) -> Normalized | Invalid:
    try:
        number = phonenumbers.parse(_international_form(digits), region)
    except phonenumbers.NumberParseException:
        return Invalid(_TYPE, NOT_A_NUMBER_REASON)
    national = str(number.national_number)
    label = service_number_label(national) or _short_number_label(number)
    if label:
        return _benign(label)
    if not phonenumbers.is_valid_number(number):
        return Invalid(_TYPE, INVALID_NUMBER_REASON)
    return Normalized(
        IdentifierType.PHONE,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        _attributes(number, phonenumbers.number_type(number)),
    )


def _mainland_mobile(national: str) -> Normalized | Invalid:
    """What `_parsed` returns for +86 `national`, which `_MAINLAND_MOBILE` matched."""
    label = service_number_label(national)  # _short_number_label passes over numbers of 9+ digits
    if label:
        return _benign(label)
    attributes = _mobile_blocks.attributes(national[:7])
    if attributes is None:
        return Invalid(_TYPE, INVALID_NUMBER_REASON)
    return Normalized(IdentifierType.PHONE, "+86" + national, dict(attributes))


class _MobileBlocks:
    """What libphonenumber says of each 7-digit block 1000000–1999999, asked once per block.

    A table of 4 bytes per block (4 MB for all of them) points into the few thousand distinct attribute
    sets, so a million-row batch touching most blocks keeps them all without growing further.
    """

    _FIRST = 1_000_000
    _INVALID = 1  # 0 = not asked yet

    def __init__(self) -> None:
        self._set_of_block = array("I", [0]) * self._FIRST
        self._sets: list[tuple[tuple[str, str], ...] | None] = [None, None]
        self._index_of_set: dict[tuple[tuple[str, str], ...], int] = {}
        self._lock = threading.Lock()

    def attributes(self, block: str) -> tuple[tuple[str, str], ...] | None:
        """The attributes every mainland mobile starting with `block` has, or None when they are invalid."""
        index = self._set_of_block[int(block) - self._FIRST]
        return self._sets[index or self._ask(block)]

    def _ask(self, block: str) -> int:
        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(block + "0000"))
        kind = phonenumbers.number_type(number)
        # For a one-region country code, UNKNOWN is exactly is_valid_number's test.
        found = None if kind == PhoneNumberType.UNKNOWN else tuple(_attributes(number, kind).items())
        with self._lock:
            index = self._INVALID if found is None else self._index_of_set.get(found)
            if index is None:
                index = self._index_of_set[found] = len(self._sets)
                self._sets.append(found)
            self._set_of_block[int(block) - self._FIRST] = index
        return index


_mobile_blocks = _MobileBlocks()


def _international_form(digits: str) -> str:
    """0086… and 86 + an 11-digit mainland mobile are the same as +86…; the rest parses as given."""
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 13 and digits.startswith("861"):
        return "+" + digits
    return digits


def _short_number_label(number: phonenumbers.PhoneNumber) -> str | None:
    if len(str(number.national_number)) > 8:
        return None
    region = phonenumbers.region_code_for_country_code(number.country_code)
    digits = str(number.national_number)
    if shortnumberinfo.is_emergency_number(digits, region):
        return "紧急号码"
    if shortnumberinfo.is_valid_short_number_for_region(number, region):
        return "短号码/服务号码"
    return None


def _benign(label: str) -> Invalid:
    return Invalid(
        _TYPE,
        f"this is a known emergency/service number ({label}), not a personal line; "
        "it cannot be reported as a black-market indicator",
        benign=True,
    )


def _attributes(number: phonenumbers.PhoneNumber, kind: int) -> dict[str, str]:
    """`kind` is number_type(number), computed once: the geocoder and carrier would each recompute it."""
    attributes = {
        "phone_type": _TYPE_NAMES.get(kind, "unknown"),
        "country": phonenumbers.region_code_for_number(number) or "",
        "region": _geocoded(number, kind),
        "carrier": carrier.name_for_valid_number(number, "zh") if kind in _CARRIER_TYPES else "",
    }
    return {key: value for key, value in attributes.items() if value}


def _geocoded(number: phonenumbers.PhoneNumber, kind: int) -> str:
    """geocoder.description_for_number(number, "zh"), given the number's type (the same three cases)."""
    if kind == PhoneNumberType.UNKNOWN:
        return ""
    if not phonenumbers.is_number_type_geographical(kind, number.country_code):
        return geocoder.country_name_for_number(number, "zh")
    return geocoder.description_for_valid_number(number, "zh")
