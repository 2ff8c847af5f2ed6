import pytest

from ingest.columns import IDENTIFIER_FIELDS, ColumnError, ColumnMap, map_header


def fields(columns: ColumnMap) -> dict[str, str]:
    return {c.header: c.field for c in columns.columns}


@pytest.mark.parametrize(
    "header, field",
    [
        *[(h, "phone") for h in ("手机号", "手机", "手机号码", "电话", "联系电话", "phone", "Mobile", "phone_number", "TEL")],
        *[(h, "device") for h in ("设备号", "设备", "设备ID", "device", "device_id")],
        ("IMEI", "imei"), ("imei", "imei"), ("OAID", "oaid"), ("idfa", "idfa"),
        ("设备指纹", "device_fingerprint"), ("fingerprint", "device_fingerprint"),
        *[(h, "id_number") for h in ("身份证号", "身份证", "身份证号码", "证件号", "id_number", "ID_Card", "idcard")],
        *[(h, "bank_card") for h in ("银行卡号", "银行卡", "卡号", "bank_card", "card_no")],
        ("IP", "ip"), ("ip地址", "ip"), ("网址", "url"), ("URL", "url"), ("链接", "url"),
        ("域名", "domain"), ("domain", "domain"), ("邮箱", "email"), ("email", "email"),
        ("微信", "wechat"), ("微信号", "wechat"), ("wechat", "wechat"), ("支付宝", "alipay"), ("alipay", "alipay"),
        ("QQ", "qq"), ("qq号", "qq"), ("android_id", "android_id"),
        *[(h, "category") for h in ("黑产类型", "类型", "风险类型", "类别", "category", "type")],
        *[(h, "observed_at") for h in ("发现时间", "时间", "日期", "observed_at", "date", "time")],
        *[(h, "agent") for h in ("中介", "团伙", "中介名称", "团伙名称", "agent", "gang")],
        *[(h, "note") for h in ("备注", "说明", "note", "remark")],
        ("置信度", "confidence"), ("可信度", "confidence"), ("confidence", "confidence"),
        ("tlp", "tlp"), ("TLP", "tlp"), ("密级", "tlp"),
        *[(h, "reference") for h in ("编号", "参考号", "reference", "ref", "id")],
    ],
)
def test_chinese_and_english_aliases_map_to_canonical_fields(header, field):
    others = {"category": ["手机号"], "phone": ["类别"]}.get(field, ["类别", "手机号"])
    columns = map_header([*others, header])
    assert isinstance(columns, ColumnMap)
    assert fields(columns)[header] == field


@pytest.mark.parametrize("header", [" 手机号 ", "ＰＨＯＮＥ", "Phone Number", "PHONE-NUMBER", "手机号*"])
def test_headers_match_ignoring_case_width_spaces_and_marks(header):
    assert fields(map_header([header, "类型"]))[header] == "phone"


def test_numbered_columns_all_feed_the_same_identifier_field():
    columns = map_header(["手机号1", "手机号2", "手机号_3", "phone (4)", "类型"])
    assert [c.field for c in columns.identifier_columns] == ["phone"] * 4


def test_bracketed_notes_in_headers_are_ignored():
    assert fields(map_header(["手机号", "类型", "置信度（0-100）", "发现时间(yyyy-mm-dd)"])) == {
        "手机号": "phone", "类型": "category", "置信度（0-100）": "confidence", "发现时间(yyyy-mm-dd)": "observed_at",
    }


@pytest.mark.parametrize("header", ["同盾设备指纹", "tongdun_fingerprint", "Tongdun Device Fingerprint"])
def test_vendor_named_fingerprint_header_carries_the_vendor(header):
    (column,) = map_header([header, "类型"]).identifier_columns
    assert (column.field, column.vendor) == ("device_fingerprint", "tongdun")


def test_vendor_named_device_header_is_a_device_column_with_that_vendor():
    (column,) = map_header(["数美设备号", "类型"]).identifier_columns
    assert (column.field, column.vendor) == ("device", "shumei")


def test_unknown_fingerprint_vendor_is_kept_and_warned_about():
    columns = map_header(["acme_fingerprint", "类型"])
    (column,) = columns.identifier_columns
    assert column.vendor == "acme"
    assert any("acme" in w for w in columns.warnings)


def test_unknown_columns_are_one_batch_warning_and_ignored():
    columns = map_header(["序号", "手机号", "客户经理", "类型", "序号2"])
    assert columns.ignored == ["序号", "客户经理", "序号2"]
    unknown = [w for w in columns.warnings if "no known meaning" in w]
    assert len(unknown) == 1 and "客户经理" in unknown[0]


def test_explicit_mapping_overrides_aliases():
    columns = map_header(["号码", "类型", "电话"], {"号码": "phone", "电话": "ignore"})
    assert fields(columns) == {"号码": "phone", "类型": "category"}
    assert "电话" in columns.ignored


def test_explicit_mapping_may_name_a_fingerprint_vendor():
    (column,) = map_header(["指纹值", "类型"], {"指纹值": "device_fingerprint:shumei"}).identifier_columns
    assert (column.field, column.vendor) == ("device_fingerprint", "shumei")


def test_explicit_mapping_to_an_unknown_field_is_an_error_listing_fields():
    result = map_header(["号码", "类型"], {"号码": "telephone"})
    assert isinstance(result, ColumnError)
    assert "telephone" in result.message and "phone" in result.message


def test_explicit_mapping_for_a_missing_column_is_a_warning():
    columns = map_header(["手机号", "类型"], {"不存在": "note"})
    assert any("不存在" in w for w in columns.warnings)


def test_missing_category_column_is_an_error_naming_headers_and_accepted_names():
    result = map_header(["手机号", "备注"])
    assert isinstance(result, ColumnError)
    assert "category" in result.message and "手机号, 备注" in result.message and "黑产类型" in result.message


def test_missing_identifier_column_is_an_error_listing_accepted_identifier_columns():
    result = map_header(["类型", "备注"])
    assert isinstance(result, ColumnError)
    assert "identifier" in result.message and "手机号 (phone)" in result.message


def test_two_columns_for_one_lead_field_use_the_first_and_warn():
    columns = map_header(["手机号", "类型", "黑产类型"])
    assert columns.lead_column("category").header == "类型"
    assert any("黑产类型" in w for w in columns.warnings)


def test_headers_seen_mid_stream_extend_the_map():
    columns = map_header(["phone", "category"])
    warnings = columns.extended(["phone", "email", "mystery"])
    assert fields(columns)["email"] == "email"
    assert columns.knows("mystery") and any("mystery" in w for w in warnings)


def test_every_identifier_field_is_a_normalizer_input_type():
    from ingest.identifiers import INPUT_TYPES

    assert set(IDENTIFIER_FIELDS) <= set(INPUT_TYPES)


def test_the_combined_agent_gang_header_maps_to_agent() -> None:
    from ingest.columns import map_header

    columns = map_header(["黑产类型", "手机号", "中介/团伙"])
    assert columns.lead_column("agent") is not None and columns.ignored == []
