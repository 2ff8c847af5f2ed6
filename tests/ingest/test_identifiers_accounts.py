import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import accounts
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

wechat_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{5,19}", fullmatch=True)


@given(wechat_ids)
def test_wechat_ids_are_lower_cased_and_idempotent(wechat_id):
    result = accounts.normalize_wechat(wechat_id)
    assert isinstance(result, Normalized) and result.type is IdentifierType.WECHAT
    assert result.value == wechat_id.lower()
    assert accounts.normalize_wechat(result.value) == result


def test_wxid_and_phone_wechat_accounts():
    assert accounts.normalize_wechat("wxid_AB12cd34ef56gh").value == "wxid_ab12cd34ef56gh"
    result = accounts.normalize_wechat("138 0013 8000")
    assert result.type is IdentifierType.WECHAT and result.value == "+8613800138000"
    assert result.attributes == {"account_kind": "phone"}
    assert accounts.normalize_wechat(result.value) == result


@pytest.mark.parametrize("raw", ["12345", "02087654321", "+14155552671", "abc", "1abcdef", "a" * 21, "微信号abc"])
def test_wechat_refusals(raw):
    result = accounts.normalize_wechat(raw)
    assert isinstance(result, Invalid) and "WeChat ID" in result.reason


@given(st.from_regex(r"[1-9][0-9]{4,10}", fullmatch=True))
def test_qq_numbers_round_trip(number):
    result = accounts.normalize_qq(number)
    assert result.type is IdentifierType.QQ and result.value == number
    assert accounts.normalize_qq(result.value) == result


@pytest.mark.parametrize("raw", ["1234", "012345", "123456789012", "12345a", "12345@qq.com"])
def test_qq_refusals(raw):
    result = accounts.normalize_qq(raw)
    assert isinstance(result, Invalid) and "5–11 digits" in result.reason


def test_alipay_phone_and_email_accounts_are_typed_alipay():
    by_phone = accounts.normalize_alipay("+86 138-0013-8000")
    assert by_phone.type is IdentifierType.ALIPAY and by_phone.value == "+8613800138000"
    assert by_phone.attributes["account_kind"] == "phone" and by_phone.attributes["region"] == "北京市"
    by_email = accounts.normalize_alipay("Foo@QQ.com")
    assert by_email.type is IdentifierType.ALIPAY and by_email.value == "foo@qq.com"
    assert by_email.attributes["account_kind"] == "email"
    assert accounts.normalize_alipay(by_phone.value) == by_phone
    assert accounts.normalize_alipay(by_email.value) == by_email


def test_alipay_refusals_carry_the_inner_reason_and_benign_flag():
    service = accounts.normalize_alipay("95188")
    assert isinstance(service, Invalid) and service.benign and service.type == "alipay"
    bad = accounts.normalize_alipay("not an account")
    assert isinstance(bad, Invalid) and "phone number or an e-mail" in bad.reason


@pytest.mark.parametrize("fn", [accounts.normalize_wechat, accounts.normalize_qq, accounts.normalize_alipay])
def test_empty(fn):
    assert "empty" in fn("  ").reason
