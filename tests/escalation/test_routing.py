"""Routing, each rule on real libphonenumber zh-geocoder output: explicit choice, main phone's city (old names and
short forms too), resident ID region, member's home jurisdiction."""

from __future__ import annotations

import pytest
from phonenumbers import geocoder, parse

from core.errors import BadInput
from escalation.models import RoutingRule
from escalation.routing import route
from ingest.identifiers import normalize


def phone_region(number: str) -> str:
    region = normalize("phone", number).attributes["region"]
    assert region == geocoder.description_for_number(parse(number, "CN"), "zh")  # what the geocoder itself says
    return region


@pytest.mark.parametrize("number, geocoded, code, bureau", [
    ("13510001234", "广东省深圳市", "440300", "深圳市公安局"),
    ("13971234567", "湖北省武汉市", "420100", "武汉市公安局"),
    ("13035210000", "湖北省襄樊市", "420600", "襄阳市公安局"),  # the geocoder still says the old name
    ("18977112345", "广西南宁市", "450100", "南宁市公安局"),  # short province form
    ("13899912345", "新疆乌鲁木齐市", "650100", "乌鲁木齐市公安局"),
    ("13308491234", "湖南省长沙市", "430100", "长沙市公安局"),
    ("13800138000", "北京市", "110000", "北京市公安局"),  # a municipality: the whole city's bureau
])
def test_the_main_phones_geocoded_city_routes_the_case(number: str, geocoded: str, code: str, bureau: str) -> None:
    region = phone_region(number)
    assert region == geocoded
    routing = route(explicit=None, main_phone_region=region, id_region_code="310101", home_jurisdiction="330100")
    assert (routing.rule, routing.jurisdiction.code, routing.jurisdiction.bureau) == (RoutingRule.PHONE_GEOCODE, code, bureau)
    assert geocoded in routing.basis


def test_a_phone_geocoded_only_to_china_falls_through_to_the_resident_id() -> None:
    region = phone_region("13000070000")
    assert region == "中国"
    id_number = normalize("id_number", "440305199001010018")
    routing = route(explicit=None, main_phone_region=region, id_region_code=id_number.attributes["region_code"],
                    home_jurisdiction="330100")
    assert (routing.rule, routing.jurisdiction.code) == (RoutingRule.ID_REGION, "440300")


@pytest.mark.parametrize("region_code, expected", [
    ("440305", "440300"),  # a district → its prefecture
    ("110105", "110000"),  # a Beijing district → the municipality
    ("429004", "420000"),  # a province-administered city (仙桃) → the province
    ("371202", "370100"),  # 莱芜 merged into 济南 (2019)
])
def test_the_resident_ids_region_code_routes_to_its_prefecture(region_code: str, expected: str) -> None:
    routing = route(explicit=None, main_phone_region=None, id_region_code=region_code, home_jurisdiction=None)
    assert (routing.rule, routing.jurisdiction.code) == (RoutingRule.ID_REGION, expected)


def test_without_phone_or_id_the_members_home_jurisdiction_is_used() -> None:
    routing = route(explicit=None, main_phone_region="中国", id_region_code=None, home_jurisdiction="330100")
    assert (routing.rule, routing.jurisdiction.bureau) == (RoutingRule.MEMBER_HOME, "杭州市公安局")


def test_an_explicit_choice_wins_over_every_other_rule() -> None:
    routing = route(explicit="310000", main_phone_region="广东省深圳市", id_region_code="440305", home_jurisdiction="330100")
    assert (routing.rule, routing.jurisdiction.bureau) == (RoutingRule.EXPLICIT, "上海市公安局")


@pytest.mark.parametrize("explicit", ["999999", "440301x", "710000"])
def test_an_unknown_explicit_jurisdiction_is_refused_with_how_to_find_one(explicit: str) -> None:
    with pytest.raises(BadInput, match="fenghuo jurisdictions find"):
        route(explicit=explicit, main_phone_region=None, id_region_code=None, home_jurisdiction=None)


def test_nothing_to_route_by_is_a_clear_error() -> None:
    with pytest.raises(BadInput, match="cannot be routed"):
        route(explicit=None, main_phone_region="中国", id_region_code=None, home_jurisdiction=None)
