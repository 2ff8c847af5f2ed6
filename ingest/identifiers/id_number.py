"""Resident identity card numbers (GB 11643-1999): 18 characters with an ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import datetime as dt

from ._common import EMPTY_REASON, clean, remove
from .result import IdentifierType, Invalid, Normalized

_TYPE = IdentifierType.ID_NUMBER.value
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# First two digits of the administrative division code. 81/82/83 are the residence permits of
# Hong Kong, Macao and Taiwan residents; 71 is reserved for Taiwan.
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区", "83": "台湾地区(居住证)",
}


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def normalize(raw: str, *, today: dt.date | None = None) -> Normalized | Invalid:
    text = remove(clean(raw), " -").upper()
    if not text:
        return Invalid(_TYPE, EMPTY_REASON)
    if len(text) == 15 and text.isdigit():
        return Invalid(
            _TYPE,
            "15-digit legacy ID numbers are not accepted; give the 18-digit resident ID number "
            "(the alliance cannot convert old numbers reliably)",
        )
    if len(text) != 18:
        return Invalid(_TYPE, f"a resident ID number has 18 characters, this value has {len(text)}")
    if not (text[:17].isdigit() and text[17] in CHECK_CHARS):
        return Invalid(_TYPE, "a resident ID number is 17 digits followed by a digit or X")
    if check_char(text[:17]) != text[17]:
        return Invalid(
            _TYPE,
            "the check character (last character) does not match the first 17 digits (GB 11643 MOD 11-2); "
            "a digit was probably mistyped",
        )
    province = PROVINCES.get(text[:2])
    if province is None:
        return Invalid(_TYPE, "the first two digits are not a Chinese province code (11–65, 71, 81–83)")
    problem = _birth_date_problem(text[6:14], today or dt.date.today())
    if problem:
        return Invalid(_TYPE, problem)
    # Birth date and sex are personal data: they stay out of the attributes on purpose.
    return Normalized(IdentifierType.ID_NUMBER, text, {"region_code": text[:6], "province": province})


def _birth_date_problem(yyyymmdd: str, today: dt.date) -> str | None:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return "characters 7–14 must be a real birth date (YYYYMMDD); this one does not exist"
    if born.year < 1900:
        return "the birth date (characters 7–14) is before 1900; check the number"
    if born > today:
        return "the birth date (characters 7–14) is in the future; check the number"
    return None
