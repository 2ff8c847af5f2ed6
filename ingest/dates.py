"""When a lead was observed: the spellings Excel and fraud teams produce, turned into UTC datetimes.

Accepted (a value without a time zone is Beijing time, Asia/Shanghai):

- ``datetime`` / ``date`` objects (what openpyxl gives for date-formatted cells);
- ISO 8601: ``2024-05-03``, ``2024-05-03T14:22:05+08:00``, ``2024-05-03 14:22Z``, ``20240503T142205``;
- Excel-style: ``2024/5/3``, ``2024-5-3 14:22``, ``2024.05.03 14:22:05``;
- Chinese: ``2024年5月3日``, ``2024年5月3日 14时22分``, ``2024年5月3日14:22``;
- Excel serial day numbers (1900 date system, as numbers or digit strings): ``45415``, ``45415.6``;
- ``20240503`` (8 digits), Unix seconds (10 digits) and Unix milliseconds (13 digits).

Refused: dates before 2000 (no black-market lead is that old; usually a broken cell) and dates later
than ``now`` plus five minutes of clock skew.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLIEST = datetime(2000, 1, 1, tzinfo=SHANGHAI)
CLOCK_SKEW = timedelta(minutes=5)
# Excel's 1900 system counts 1900-02-29, a day that never was; from serial 61 (1900-03-01) on,
# counting from 1899-12-30 absorbs that error. Earlier serials are before 2000 and refused anyway.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_MAX_SERIAL = 100_000  # 2173-10-14: larger numbers are not Excel serials

ACCEPTED_FORMATS = "2024-05-03, 2024-05-03 14:22, 2024/5/3, 2024年5月3日 14时22分, ISO 8601, or an Excel date"


@dataclass(frozen=True)
class DateError:
    reason: str


_NUMERIC_DATE = re.compile(
    r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6})\d*)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_CHINESE_DATE = re.compile(
    r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"
    r"(?:\s*(?P<H>\d{1,2})[时点:](?:(?P<M>\d{1,2})分?(?::?(?P<S>\d{1,2})秒?)?)?)?"
)


def parse_observed_at(value: object, *, now: datetime) -> datetime | DateError:
    """`value` as an aware UTC datetime, or the reason it is not an acceptable observation time.

    `now` should be aware; a naive `now` is taken as UTC.
    """
    parsed = _parse(value)
    if isinstance(parsed, DateError):
        return parsed
    if parsed < EARLIEST:
        return DateError(f"date {parsed.astimezone(SHANGHAI):%Y-%m-%d} is before 2000")
    now_utc = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    if parsed > now_utc + CLOCK_SKEW:
        return DateError(f"date {parsed.astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Beijing time) is in the future")
    return parsed.astimezone(timezone.utc)


def _parse(value: object) -> datetime | DateError:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=SHANGHAI)
    if isinstance(value, bool):
        return DateError(f"a true/false value is not a date; use {ACCEPTED_FORMATS}")
    if isinstance(value, (int, float)):
        return _from_number(value)
    if isinstance(value, str):
        return _from_text(value)
    return DateError(f"not a date; use {ACCEPTED_FORMATS}")


@lru_cache(maxsize=4096)  # a batch repeats few distinct date strings
def _from_text(raw: str) -> datetime | DateError:
    text = unicodedata.normalize("NFKC", raw).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return _from_digits(text)
    for pattern in (_NUMERIC_DATE, _CHINESE_DATE):
        match = pattern.fullmatch(text)
        if match:
            return _from_match(match)
    try:
        parsed = datetime.fromisoformat(text)  # the remaining ISO 8601 forms (basic format, week dates)
    except ValueError:
        return DateError(f"not a date: use {ACCEPTED_FORMATS}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=SHANGHAI)


def _from_digits(text: str) -> datetime | DateError:
    if "." not in text and len(text) == 8:
        try:
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=SHANGHAI)
        except ValueError:
            return DateError(f"{text} is not a real date (read as YYYYMMDD); use {ACCEPTED_FORMATS}")
    if "." not in text and len(text) == 10:
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    if "." not in text and len(text) == 13:
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    return _from_number(float(text))


def _from_number(number: float) -> datetime | DateError:
    if not 0 < number < _MAX_SERIAL:
        return DateError(f"the number {number:g} is not an Excel date; use {ACCEPTED_FORMATS}")
    seconds = round(number * 86_400)  # whole seconds: 45415.6 is 14:24:00, not 14:23:59.999
    return (_EXCEL_EPOCH + timedelta(seconds=seconds)).replace(tzinfo=SHANGHAI)


def _from_match(match: re.Match[str]) -> datetime | DateError:
    parts = match.groupdict()
    fraction = parts.get("f") or ""
    try:
        naive = datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )
    except ValueError:
        return DateError(f"{match.group(0)} is not a real date or time; use {ACCEPTED_FORMATS}")
    zone = parts.get("tz")
    if not zone:
        return naive.replace(tzinfo=SHANGHAI)
    if zone == "Z":
        return naive.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if offset >= timedelta(hours=24):
        return DateError(f"{zone} is not a time zone offset")
    return naive.replace(tzinfo=timezone(sign * offset))
