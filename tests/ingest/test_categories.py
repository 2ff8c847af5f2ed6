import pytest

from ingest.categories import BY_CODE, CATEGORIES, accepted_categories_text, resolve_category

# DESIGN.md §2, verbatim: code, label, aliases.
DESIGN_TABLE = {
    "LOAN_INTERMEDIARY": ("贷款中介", {"中介", "非法贷款中介", "助贷中介", "中介代办"}),
    "APPLICATION_FRAUD": ("资料包装", {"信息包装", "伪造资料", "包装资料"}),
    "REMOTE_ASSISTED": ("远程助贷", {"远程操控", "远程代办"}),
    "IDENTITY_THEFT": ("身份冒用", {"盗用身份", "冒名贷款"}),
    "ANTI_COLLECTION": ("反催收", {"代理维权", "非法代理维权", "债务重组", "协商还款", "反催收联盟"}),
    "CREDIT_REPAIR_SCAM": ("征信修复", {"征信洗白"}),
    "IMPERSONATE_AUTHORITY": ("冒充公检法", {"冒充警察", "冒充监管"}),
    "IMPERSONATE_SUPPORT": ("冒充客服", {"假客服", "注销校园贷"}),
    "MONEY_MULE": ("跑分洗钱", {"跑分", "洗钱", "两卡", "出租出借银行卡"}),
    "DEVICE_FARM": ("设备农场", {"猫池", "卡池", "群控", "改机", "接码平台"}),
    "MALICIOUS_COMPLAINT": ("恶意投诉", {"职业投诉"}),
    "SURRENDER_AGENT": ("代理退保", {"退保中介"}),
    "PROMOTION_ABUSE": ("羊毛党", {"薅羊毛"}),
    "FAKE_LOAN_APP": ("虚假贷款", {"虚假网贷", "虚假网络贷款"}),
}


def test_the_fourteen_categories_match_the_design_table():
    assert {c.code: (c.label, set(c.aliases)) for c in CATEGORIES} == DESIGN_TABLE


@pytest.mark.parametrize("code", DESIGN_TABLE)
def test_every_code_label_and_alias_resolves_to_its_category(code):
    label, aliases = DESIGN_TABLE[code]
    for name in (code, label, *aliases):
        assert resolve_category(name).code == code


@pytest.mark.parametrize("spelling", ["loan_intermediary", " Loan-Intermediary ", "loan intermediary", "LOAN_INTERMEDIARY\t"])
def test_codes_resolve_regardless_of_case_spaces_and_separators(spelling):
    assert resolve_category(spelling).code == "LOAN_INTERMEDIARY"


def test_full_width_and_padded_labels_resolve_via_nfkc():
    assert resolve_category("　贷款 中介　").code == "LOAN_INTERMEDIARY"
    assert resolve_category("ＭＯＮＥＹ＿ＭＵＬＥ").code == "MONEY_MULE"


@pytest.mark.parametrize("text", ["外星人", "", "   ", None, 3, "malicious-activity"])
def test_unknown_or_non_text_category_resolves_to_none(text):
    assert resolve_category(text) is None


def test_operator_aliases_resolve_by_code_or_label():
    aliases = {"套路贷中介": "LOAN_INTERMEDIARY", "撸口子": "羊毛党"}
    assert resolve_category("套路贷中介", aliases).code == "LOAN_INTERMEDIARY"
    assert resolve_category(" 撸口子 ", aliases).code == "PROMOTION_ABUSE"
    assert resolve_category("套路贷中介") is None


def test_operator_alias_cannot_repoint_a_builtin_name():
    assert resolve_category("中介", {"中介": "MONEY_MULE"}).code == "LOAN_INTERMEDIARY"


def test_operator_alias_to_an_unknown_category_is_ignored():
    assert resolve_category("foo", {"foo": "NOT_A_CATEGORY"}) is None


def test_accepted_text_lists_every_code_and_label():
    text = accepted_categories_text()
    for code, (label, _) in DESIGN_TABLE.items():
        assert code in text and label in text


def test_scoring_constants_are_in_range_and_ordered_by_harm():
    for category in CATEGORIES:
        assert 0 < category.severity <= 1
        assert 180 <= category.lifetime_days <= 730
    assert BY_CODE["IMPERSONATE_AUTHORITY"].severity > BY_CODE["PROMOTION_ABUSE"].severity
    assert BY_CODE["MONEY_MULE"].severity > BY_CODE["MALICIOUS_COMPLAINT"].severity
    assert min(CATEGORIES, key=lambda c: c.severity).code == "PROMOTION_ABUSE"
