import phonenumbers
import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import phone
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

MOBILE_PREFIXES = ["130", "133", "135", "136", "138", "139", "150", "152", "158", "177", "180", "186", "189", "199"]
FULL_WIDTH = str.maketrans("0123456789+- ", "０１２３４５６７８９＋－\u3000")


@st.composite
def cn_mobiles(draw):
    number = draw(st.sampled_from(MOBILE_PREFIXES)) + draw(st.text("0123456789", min_size=8, max_size=8))
    assert phonenumbers.is_valid_number(phonenumbers.parse(number, "CN"))
    return number


@st.composite
def noisy(draw, number):
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "86", "+86-"]))
    body = "".join(d + draw(st.sampled_from(["", "", " ", "-"])) for d in number[:-1]) + number[-1]
    text = draw(st.sampled_from(["", " ", "\t"])) + prefix + body + draw(st.sampled_from(["", " "]))
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


@given(st.data(), cn_mobiles())
def test_formatting_noise_never_changes_the_normalized_phone(data, number):
    result = phone.normalize(data.draw(noisy(number)))
    assert isinstance(result, Normalized)
    assert result.value == "+86" + number


@given(cn_mobiles())
def test_normalize_is_idempotent(number):
    first = phone.normalize(number)
    assert phone.normalize(first.value) == first


def test_acceptance_example_shenzhen_mobile():
    result = phone.normalize("+86 135-1000-1234")
    assert result.type is IdentifierType.PHONE
    assert result.value == "+8613510001234"
    assert result.attributes["region"] == "广东省深圳市"
    assert result.attributes["phone_type"] == "mobile"
    assert result.attributes["country"] == "CN"
    assert result.attributes["carrier"] == "中国移动"


def test_fixed_line_with_area_code_and_parentheses():
    result = phone.normalize("(020) 8765-4321")
    assert result.value == "+862087654321"
    assert result.attributes["phone_type"] == "fixed_line"
    assert "carrier" not in result.attributes


def test_shared_cost_400_number_region_is_only_china():
    result = phone.normalize("400-812-3123")
    assert result.attributes["phone_type"] == "shared_cost"
    assert result.attributes["region"] == "中国"


def test_foreign_number_keeps_its_country():
    result = phone.normalize("+1 415 555 2671")
    assert result.value == "+14155552671"
    assert result.attributes["country"] == "US"


@pytest.mark.parametrize("raw", ["1.38001E+10", "1.38E10", "1.38001e+10", "13800138000.0", "13800138000.00"])
def test_spreadsheet_damaged_numbers_are_refused_not_repaired(raw):
    result = phone.normalize(raw)
    assert isinstance(result, Invalid)
    assert "lost digits" in result.reason and "text" in result.reason


@pytest.mark.parametrize(
    "raw, label",
    [("110", "公安报警电话"), ("120", "医疗急救电话"), ("12110", "短信报警"), ("999", "红十字急救电话"),
     ("95588", "中国工商银行客服"), ("+86 95588", "中国工商银行客服"), ("10086", "中国移动客服"),
     ("96110", "反诈预警劝阻专线"), ("９５１８８", "支付宝客服")],
)
def test_emergency_and_service_numbers_are_benign(raw, label):
    result = phone.normalize(raw)
    assert isinstance(result, Invalid) and result.benign
    assert "emergency/service number" in result.reason and f"({label})" in result.reason


def test_short_numbers_unknown_to_the_data_file_are_benign_via_libphonenumber():
    result = phone.normalize("12395")  # in the file, but libphonenumber's short-number data also knows short codes
    assert isinstance(result, Invalid) and result.benign
    result = phone.normalize("10088")
    assert isinstance(result, Invalid) and result.benign


@pytest.mark.parametrize("raw", ["12345678", "138001380001", "1380013800", "+86 12"])
def test_invalid_numbers_are_refused_with_a_reason(raw):
    result = phone.normalize(raw)
    assert isinstance(result, Invalid) and not result.benign
    assert result.reason


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_empty_is_invalid(raw):
    result = phone.normalize(raw)
    assert isinstance(result, Invalid) and "empty" in result.reason


def test_letters_and_extensions_are_refused():
    assert isinstance(phone.normalize("13800138000 ext 12"), Invalid)
    assert isinstance(phone.normalize("电话13800138000"), Invalid)


def test_reasons_never_echo_the_raw_value():
    assert "13800138" not in phone.normalize("13800138000000").reason
