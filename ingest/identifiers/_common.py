"""Small helpers every identifier rule shares: input cleaning and the Luhn checksum."""

from __future__ import annotations

import functools
import unicodedata

EMPTY_REASON = "empty value: the cell holds no identifier; fill it in or drop the row"


def clean(raw: object) -> str:
    """NFKC-normalize (full-width digits and letters become ASCII) and strip surrounding whitespace."""
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else str(raw)
    return unicodedata.normalize("NFKC", text).strip()


def remove(text: str, chars: str) -> str:
    """Drop formatting characters (spaces, dashes…) people type inside numbers."""
    return text.translate(_deletions(chars))


@functools.lru_cache(maxsize=64)
def _deletions(chars: str) -> dict[int, None]:
    """The str.translate table deleting `chars`; a handful of distinct sets, built once each."""
    return dict.fromkeys(map(ord, chars))


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit that makes `payload + digit` valid."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # rightmost payload digit is doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]
