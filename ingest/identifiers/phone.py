"""Phone numbers: libphonenumber, default region CN, stored as E.164."""

from __future__ import annotations

import re

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

SPREADSHEET_REASON = (
    "the value lost digits in a spreadsheet (it was stored as a number, e.g. 1.38001E+10 or 13800138000.0); "
    "re-export the column as text — the original number cannot be recovered from it"
)


def normalize(raw: str, *, region: str = "CN") -> Normalized | Invalid:
    text = clean(raw)
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
    digits = remove(text, _SEPARATORS)
    label = service_number_label(digits.lstrip("+"))
    if label:
        return _benign(label)
    try:
        number = phonenumbers.parse(_international_form(digits), region)
    except phonenumbers.NumberParseException:
        return Invalid(_TYPE, "not a phone number; give a mainland number (e.g. 13800138000) or +country code")
    national = str(number.national_number)
    label = service_number_label(national) or _short_number_label(number)
    if label:
        return _benign(label)
    if not phonenumbers.is_valid_number(number):
        return Invalid(
            _TYPE,
            "not a valid phone number for its country (wrong length or unassigned prefix); check the digits — "
            "mainland mobiles have 11 digits starting with 1, landlines need their area code",
        )
    return Normalized(
        IdentifierType.PHONE,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        _attributes(number),
    )


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


def _attributes(number: phonenumbers.PhoneNumber) -> dict[str, str]:
    attributes = {
        "phone_type": _TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
        "country": phonenumbers.region_code_for_number(number) or "",
        "region": geocoder.description_for_number(number, "zh"),
        "carrier": carrier.name_for_number(number, "zh"),
    }
    return {key: value for key, value in attributes.items() if value}
