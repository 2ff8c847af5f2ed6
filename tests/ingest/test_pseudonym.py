import base64
import hashlib
import hmac
import json
import stat

import phonenumbers
import pytest
from hypothesis import given, settings, strategies as st

from ingest.identifiers import IdentifierType, Normalized, normalize
from ingest.pseudonym import AllianceKey, indicator_key, key_from_config, load_or_create_dev_key, mask, pseudonymize

SECRET = bytes(range(32))
KEY = AllianceKey(1, SECRET)


def test_pseudonym_is_lower_hex_hmac_sha256_of_the_normalized_value():
    n = normalize("phone", "+86 138-0013-8000")
    expected = hmac.new(SECRET, b"+8613800138000", hashlib.sha256).hexdigest()
    assert pseudonymize(KEY, n) == expected and expected == expected.lower() and len(expected) == 64
    assert indicator_key(KEY, n) == "phone:" + expected


def test_same_value_under_different_types_never_shares_a_key():
    phone, wechat = normalize("phone", "13800138000"), normalize("wechat", "13800138000")
    assert pseudonymize(KEY, phone) == pseudonymize(KEY, wechat)
    assert indicator_key(KEY, phone) != indicator_key(KEY, wechat)


@given(st.binary(min_size=32, max_size=64))
def test_different_keys_give_different_pseudonyms(secret):
    n = normalize("qq", "12345")
    other = AllianceKey(2, secret)
    assert (pseudonymize(other, n) == pseudonymize(KEY, n)) == (secret == SECRET)


def test_repr_never_shows_the_secret():
    text = repr(KEY) + str(KEY)
    assert "version=1" in text
    assert SECRET.hex() not in text and repr(SECRET) not in text and "secret" not in text


def test_key_from_config_accepts_hex_and_base64():
    assert key_from_config(SECRET.hex(), 3) == AllianceKey(3, SECRET)
    assert key_from_config(SECRET.hex().upper(), 3).secret == SECRET
    assert key_from_config(base64.b64encode(SECRET).decode(), 1).secret == SECRET
    assert key_from_config(base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(), 1).secret == b"\xfb\xff" * 16


@pytest.mark.parametrize("secret, words", [("00" * 31, "at least 32"), (base64.b64encode(b"x" * 16).decode(), "at least 32"),
                                           ("not a key!", "neither hex nor base64")])
def test_key_from_config_refuses_weak_or_malformed_secrets_without_echoing_them(secret, words):
    with pytest.raises(ValueError) as error:
        key_from_config(secret, 1)
    assert words in str(error.value) and secret not in str(error.value)


def test_dev_key_is_created_once_with_mode_0600(tmp_path):
    key, created = load_or_create_dev_key(tmp_path / "data")
    assert created and key.version == 1 and len(key.secret) == 32
    path = tmp_path / "data" / "alliance.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["secret_hex"] == key.secret.hex()
    again, created_again = load_or_create_dev_key(tmp_path / "data")
    assert again == key and not created_again


def test_malformed_key_file_is_a_clear_error(tmp_path):
    (tmp_path / "alliance.key").write_text('{"version": 1, "secret_hex": "abcd"}')
    with pytest.raises(ValueError, match="malformed"):
        load_or_create_dev_key(tmp_path)


@pytest.mark.parametrize(
    "type_name, raw, masked",
    [
        ("phone", "13800138000", "138****8000"),
        ("phone", "+14155552671", "+1 415****2671"),
        ("id_number", "11010519491231002x", "110105********002X"),
        ("bank_card", "6222021234567890128", "622202*********0128"),
        ("imei", "352099001761481", "35209900******"),
        ("oaid", "AEBE52E7-03EE-455A-B3C4-E57283966239", "aebe52e7-****"),
        ("email", "Foo.Bar@qq.com", "f***@qq.com"),
        ("ip", "8.8.4.4", "8.8.*.*"),
        ("ip", "2400:3200::1", "2400:3200:*:*:*:*:*:*"),
        ("url", "https://evil.com/login?u=zhang", "https://evil.com/****"),
        ("url", "evil.com", "http://evil.com/"),
        ("domain", "Evil.com", "evil.com"),
        ("wechat", "wxid_abcd1234", "wx****34"),
        ("wechat", "13800138000", "138****8000"),
        ("alipay", "foo@qq.com", "f***@qq.com"),
        ("qq", "1234567890", "12****90"),
        ("qq", "12345", "*****"),
        ("device_fingerprint", "tongdun:AbCdEfGh12", "tongdun:Ab****12"),
    ],
)
def test_mask_lets_an_analyst_recognise_but_not_recover(type_name, raw, masked):
    assert mask(normalize(type_name, raw)) == masked


@given(st.text("0123456789", min_size=8, max_size=8))
def test_masked_cn_mobile_hides_the_middle_four_digits(tail):
    n = normalize("phone", "139" + tail)
    assert mask(n) == "139****" + tail[-4:]


def reference_mask_phone(value: str) -> str:
    """The phone mask as first written: parse the E.164 value, show 3 + 4 digits of a long national number."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value[:2] + "****" + value[-2:] if len(value) >= 8 else "*" * len(value)
    nsn = phonenumbers.national_significant_number(number)
    shown = nsn[:3] + "****" + nsn[-4:] if len(nsn) >= 10 else nsn[:2] + "*" * max(len(nsn) - 4, 2) + nsn[-2:]
    return shown if number.country_code == 86 else f"+{number.country_code} {shown}"


@settings(max_examples=500)
@given(st.text("0123456789", min_size=10, max_size=10), st.sampled_from(["phone", "wechat", "alipay"]))
def test_mask_of_any_normalized_mobile_is_what_parsing_gives(tail, type_name):
    n = normalize(type_name, "1" + tail)
    if isinstance(n, Normalized):
        assert mask(n) == reference_mask_phone(n.value)


@settings(max_examples=500)
@given(st.sampled_from(["+86", "+861", "+8617", "+1", "+852", "+44", "+", "86", ""]), st.text("0123456789", max_size=14))
def test_mask_of_any_phone_value_is_what_parsing_gives(prefix, digits):
    value = prefix + digits
    assert mask(Normalized(IdentifierType.PHONE, value)) == reference_mask_phone(value)
    if value.startswith("+"):
        assert mask(Normalized(IdentifierType.WECHAT, value)) == reference_mask_phone(value)
