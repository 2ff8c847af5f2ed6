import datetime as dt

import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import id_number
from ingest.identifiers.id_number import CHECK_CHARS, PROVINCES, check_char
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

TODAY = dt.date(2025, 6, 1)


@st.composite
def resident_ids(draw):
    region = draw(st.sampled_from(sorted(PROVINCES))) + draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY))
    first17 = region + born.strftime("%Y%m%d") + draw(st.text("0123456789", min_size=3, max_size=3))
    return first17 + check_char(first17)


@given(resident_ids())
def test_every_generated_valid_resident_id_round_trips(number):
    result = id_number.normalize(number, today=TODAY)
    assert isinstance(result, Normalized)
    assert result.value == number
    assert result.attributes == {"region_code": number[:6], "province": PROVINCES[number[:2]]}
    assert id_number.normalize(result.value, today=TODAY) == result


@given(resident_ids(), st.data())
def test_every_wrong_check_char_is_rejected(number, data):
    wrong = data.draw(st.sampled_from([c for c in CHECK_CHARS if c != number[-1]]))
    result = id_number.normalize(number[:-1] + wrong, today=TODAY)
    assert isinstance(result, Invalid) and "check character" in result.reason


@given(resident_ids())
def test_lower_case_x_and_spaces_and_full_width_are_normal_input(number):
    noisy = " " + number[:6] + " " + number[6:14] + " " + number[14:].lower() + " "
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    assert id_number.normalize(noisy, today=TODAY).value == number
    assert id_number.normalize(full_width, today=TODAY).value == number


def test_acceptance_example_lower_case_x():
    result = id_number.normalize("11010519491231002x")
    assert result.type is IdentifierType.ID_NUMBER
    assert result.value == "11010519491231002X"
    assert result.attributes == {"region_code": "110105", "province": "北京市"}


def test_birth_date_and_sex_are_not_attributes():
    result = id_number.normalize("11010519491231002X")
    assert set(result.attributes) == {"region_code", "province"}


def test_legacy_15_digit_numbers_ask_for_18_digits():
    result = id_number.normalize("110105491231002")
    assert isinstance(result, Invalid) and "18-digit" in result.reason


def _with_check(first17: str) -> str:
    return first17 + check_char(first17)


@pytest.mark.parametrize(
    "number, words",
    [
        (_with_check("11010519490230002"), "real birth date"),
        (_with_check("11010518991231002"), "before 1900"),
        (_with_check("11010520991231002"), "future"),
        (_with_check("99010519491231002"), "province code"),
        (_with_check("00010519491231002"), "province code"),
        ("1101051949123100", "18 characters"),
        ("1101051949123100AX", "17 digits"),
        ("", "empty"),
    ],
)
def test_rule_violations_are_refused_with_reason(number, words):
    result = id_number.normalize(number, today=TODAY)
    assert isinstance(result, Invalid) and words in result.reason


def test_hong_kong_macao_taiwan_residence_permits_are_accepted():
    for prefix, province in [("810000", "香港特别行政区"), ("820000", "澳门特别行政区"), ("830000", "台湾地区(居住证)")]:
        result = id_number.normalize(_with_check(prefix + "19900101001"), today=TODAY)
        assert result.attributes["province"] == province
