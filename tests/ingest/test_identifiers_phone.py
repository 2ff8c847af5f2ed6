import phonenumbers
import pytest
from hypothesis import given, settings, strategies as st
from phonenumbers import carrier, geocoder
from phonenumbers.carrierdata import CARRIER_LONGEST_PREFIX
from phonenumbers.geodata import GEOCODE_LONGEST_PREFIX

from ingest.identifiers import phone
from ingest.identifiers._common import EMPTY_REASON, clean
from ingest.identifiers.benign import service_number_label
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


# --- the mainland-mobile shortcut gives exactly what parsing every number gives --------------------------------

def reference_normalize(raw: str, region: str = "CN"):
    """The rule as first written: every number parsed, each attribute asked of libphonenumber on its own."""
    text = clean(raw)
    if not text:
        return Invalid("phone", EMPTY_REASON)
    if phone._SCIENTIFIC.fullmatch(text) or phone._NUMERIC_CELL.fullmatch(text):
        return Invalid("phone", phone.SPREADSHEET_REASON)
    if not phone._ALLOWED.fullmatch(text):
        return Invalid(
            "phone",
            "a phone number may contain only digits, a leading +, spaces, dashes, dots and parentheses; "
            "remove letters, extensions and notes",
        )
    digits = text.translate({ord(c): None for c in phone._SEPARATORS})
    label = service_number_label(digits.lstrip("+"))
    if label:
        return phone._benign(label)
    try:
        number = phonenumbers.parse(phone._international_form(digits), region)
    except phonenumbers.NumberParseException:
        return Invalid("phone", phone.NOT_A_NUMBER_REASON)
    label = service_number_label(str(number.national_number)) or phone._short_number_label(number)
    if label:
        return phone._benign(label)
    if not phonenumbers.is_valid_number(number):
        return Invalid("phone", phone.INVALID_NUMBER_REASON)
    attributes = {
        "phone_type": phone._TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
        "country": phonenumbers.region_code_for_number(number) or "",
        "region": geocoder.description_for_number(number, "zh"),
        "carrier": carrier.name_for_number(number, "zh"),
    }
    return Normalized(
        IdentifierType.PHONE,
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        {key: value for key, value in attributes.items() if value},
    )


def test_prefix_tables_key_on_at_most_seven_digits_of_a_mainland_mobile():
    # The shortcut caches per 7-digit block: a deeper geocoder or carrier key would split a block.
    assert max(GEOCODE_LONGEST_PREFIX, CARRIER_LONGEST_PREFIX) <= len("86") + 7


@settings(max_examples=600)
@given(st.data(), st.text("0123456789", min_size=10, max_size=10))
def test_any_11_digit_number_starting_with_1_normalizes_as_when_parsed(data, tail):
    raw = data.draw(noisy("1" + tail))
    expected = reference_normalize(raw)
    assert phone.normalize(raw) == expected
    assert phone.normalize_by_parsing(raw) == expected


@settings(max_examples=300)
@given(st.sampled_from(MOBILE_PREFIXES), st.text("0123456789", min_size=4, max_size=4),
       st.lists(st.text("0123456789", min_size=4, max_size=4), min_size=2, max_size=4))
def test_numbers_of_one_block_share_its_attributes_but_not_one_dict(prefix, block_digits, tails):
    first, *others = [phone.normalize(prefix + block_digits + tail) for tail in tails]
    assert first == reference_normalize(prefix + block_digits + tails[0])
    for other in others:
        assert other.attributes == first.attributes and other.attributes is not first.attributes


def test_every_5_digit_mobile_prefix_normalizes_as_when_parsed():
    for head in range(13000, 20000):
        for rest in ("000000", "999999"):
            raw = f"{head}{rest}"
            assert phone.normalize(raw) == reference_normalize(raw), raw


@settings(max_examples=400)
@given(st.sampled_from(["", "+", "00", "0", "+86", "86", "+1", "+852", "+44", "400", "0755", "010", "95"]),
       st.text("0123456789", min_size=0, max_size=13))
def test_other_numbers_normalize_as_when_parsed(prefix, digits):
    raw = prefix + digits
    assert phone.normalize(raw) == reference_normalize(raw)


# 1795100 and 1[12]xx00 read as international prefixes: 17951001110 is "+1 110", a service number.
@pytest.mark.parametrize("raw", ["13800138000", "+86 179 5100 1380", "17951001110", "11912001380", "0086 135 1000 1234",
                                 "8613510001234", "(020) 8765-4321", "400-812-3123", "+1 415 555 2671", "+852 6123 4567",
                                 "12395", "+86 95588", "1740 000 1234", "1740 600 1234", "16100001234"])
def test_known_shapes_normalize_as_when_parsed(raw):
    assert phone.normalize(raw) == reference_normalize(raw)
    assert phone.normalize(raw, region="US") == reference_normalize(raw, region="US")


@given(st.text("0123456789", min_size=8, max_size=12))
def test_mainland_mobile_digits_only_for_what_parses_to_an_11_digit_86_number(digits):
    value = "+86" + digits
    found = phone.mainland_mobile_digits(value)
    if found is not None:
        number = phonenumbers.parse(value, None)
        assert (number.country_code, phonenumbers.national_significant_number(number)) == (86, found)
