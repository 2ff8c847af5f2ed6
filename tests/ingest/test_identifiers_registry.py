import pytest

from ingest import identifiers
from ingest.identifiers import INPUT_TYPES, IdentifierType, Invalid, Normalized, normalize

EXAMPLES = {
    "phone": ("13800138000", IdentifierType.PHONE),
    "id_number": ("11010519491231002x", IdentifierType.ID_NUMBER),
    "bank_card": ("6222021234567890128", IdentifierType.BANK_CARD),
    "imei": ("35209900176148", IdentifierType.IMEI),
    "imeisv": ("3520990017614812", IdentifierType.IMEI),
    "oaid": ("AEBE52E7-03EE-455A-B3C4-E57283966239", IdentifierType.AD_ID),
    "idfa": ("AEBE52E7-03EE-455A-B3C4-E57283966239", IdentifierType.AD_ID),
    "ad_id": ("AEBE52E7-03EE-455A-B3C4-E57283966239", IdentifierType.AD_ID),
    "device": ("352099001761481", IdentifierType.IMEI),
    "device_fingerprint": ("tongdun:abcdefgh1234", IdentifierType.DEVICE_FINGERPRINT),
    "ip": ("8.8.8.8", IdentifierType.IP),
    "url": ("evil.com/x", IdentifierType.URL),
    "domain": ("evil.com", IdentifierType.DOMAIN),
    "email": ("a@qq.com", IdentifierType.EMAIL),
    "wechat": ("wxid_abcd1234", IdentifierType.WECHAT),
    "alipay": ("a@qq.com", IdentifierType.ALIPAY),
    "qq": ("12345", IdentifierType.QQ),
}


def test_input_types_are_the_documented_names():
    assert set(INPUT_TYPES) == set(EXAMPLES) | {"android_id"}


@pytest.mark.parametrize("type_name", sorted(EXAMPLES))
def test_every_input_type_normalizes_and_is_idempotent(type_name):
    raw, expected = EXAMPLES[type_name]
    result = normalize(type_name.upper(), raw)
    assert isinstance(result, Normalized) and result.type is expected
    assert normalize(type_name, result.value) == result


def test_platform_follows_the_input_type_name():
    u = "aebe52e7-03ee-455a-b3c4-e57283966239"
    assert normalize("oaid", u).attributes["platform"] == "android"
    assert normalize("idfa", u).attributes["platform"] == "ios"
    assert normalize("ad_id", u).attributes["platform"] == "unknown"


def test_android_id_is_refused():
    result = normalize("android_id", "9774d56d682e549c")
    assert isinstance(result, Invalid) and "not a shared indicator" in result.reason


def test_vendor_reaches_the_device_rules():
    assert normalize("device", "abcdefgh1234", vendor="数美").value == "shumei:abcdefgh1234"
    assert normalize("device_fingerprint", "abcdefgh1234", vendor="同盾设备指纹").value == "tongdun:abcdefgh1234"


def test_unknown_type_lists_accepted_names():
    result = normalize("passport", "E12345678")
    assert isinstance(result, Invalid)
    assert all(name in result.reason for name in INPUT_TYPES)


def test_numeric_spreadsheet_cells():
    assert normalize("phone", 13800138000).value == "+8613800138000"
    assert "lost digits" in normalize("phone", 13800138000.0).reason
    assert "empty" in normalize("phone", None).reason


def test_reexports():
    assert identifiers.Normalized is Normalized and identifiers.Invalid is Invalid
