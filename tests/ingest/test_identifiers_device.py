import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import device
from ingest.identifiers.device import ANDROID_ID_REASON, VENDOR_SLUGS, vendor_slug
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

bodies = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.:", min_size=8, max_size=128)


def test_digits_are_classified_as_imei_or_imeisv():
    assert device.normalize("35209900176148").value == "352099001761481"
    assert device.normalize("35-209900-176148-1").type is IdentifierType.IMEI
    assert device.normalize("3520990017614812").value == "352099001761481"


def test_uuid_is_classified_as_advertising_id():
    result = device.normalize("AEBE52E7-03EE-455A-B3C4-E57283966239")
    assert result.type is IdentifierType.AD_ID and result.value == "aebe52e7-03ee-455a-b3c4-e57283966239"


def test_sixteen_hex_digits_are_refused_as_android_id():
    result = device.normalize("9774d56d682e549c")
    assert isinstance(result, Invalid) and result.reason == ANDROID_ID_REASON
    assert "per app-signing key" in result.reason


def test_android_id_is_always_refused():
    assert device.refuse_android_id("9774d56d682e549c").reason == ANDROID_ID_REASON
    assert "empty" in device.refuse_android_id("").reason


def test_anything_else_without_a_vendor_is_unclassifiable():
    result = device.normalize("abcdefghijklmnop12")
    assert isinstance(result, Invalid) and result.reason.startswith("unclassifiable device identifier")
    assert "IMEI" in result.reason and "UUID" in result.reason


def test_vendor_from_the_column_header_makes_a_fingerprint():
    result = device.normalize("Abc123XYZ/+=", vendor="同盾设备指纹")
    assert result.type is IdentifierType.DEVICE_FINGERPRINT
    assert result.value == "tongdun:Abc123XYZ/+="
    assert result.attributes == {"vendor": "tongdun"}


def test_vendor_prefix_in_the_value_makes_a_fingerprint():
    assert device.normalize("shumei:WHJMrwNw1k/FOWn4tK").value == "shumei:WHJMrwNw1k/FOWn4tK"
    assert device.normalize("TongDun:352099001761481").value == "tongdun:352099001761481"
    assert device.normalize("同盾:abcdefgh123").value == "tongdun:abcdefgh123"


@pytest.mark.parametrize("name, slug", sorted(VENDOR_SLUGS.items()))
def test_chinese_vendor_names_map_to_slugs(name, slug):
    assert vendor_slug(name + "设备指纹") == slug


def test_ascii_vendor_slugs_and_unknown_vendors():
    assert vendor_slug("FooBar_2") == "foobar_2"
    assert vendor_slug("某某科技") is None
    result = device.normalize_fingerprint("abcdefgh1234", vendor="某某科技")
    assert isinstance(result, Invalid) and "vendor" in result.reason


@given(bodies)
def test_fingerprint_case_is_preserved_and_normalize_is_idempotent(body):
    result = device.normalize_fingerprint(body, vendor="数美")
    assert isinstance(result, Normalized) and result.value == "shumei:" + body
    assert device.normalize_fingerprint(result.value) == result
    assert device.normalize(result.value) == result


@pytest.mark.parametrize("body", ["short", "x" * 129, "has space in it", "中文指纹abcdefgh"])
def test_fingerprint_body_rules(body):
    result = device.normalize_fingerprint(body, vendor="tongdun")
    assert isinstance(result, Invalid) and "8–128" in result.reason


def test_fingerprint_without_vendor_is_refused():
    result = device.normalize_fingerprint("abcdefgh1234")
    assert isinstance(result, Invalid) and "vendor" in result.reason


def test_a_url_is_not_mistaken_for_a_vendor_prefix():
    assert isinstance(device.normalize("http://evil.com/abc"), Invalid)
