from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import rows as rows_module
from ingest.columns import map_header
from ingest.formats import SourceRow
from ingest.rows import DEFAULT_CONFIDENCE, DEFAULT_TLP, RowDeduper, validate_row, validate_stream

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
HEADERS = ["手机号", "手机号2", "身份证号", "类型", "发现时间", "置信度", "TLP", "中介", "备注", "编号", "序号"]
COLUMNS = map_header(HEADERS)
PHONE = "13800138000"
OTHER_PHONE = "13900139000"


def row(line=2, **values) -> SourceRow:
    base = {"手机号": PHONE, "类型": "贷款中介", "发现时间": "2024-05-03 14:22"}
    base.update({k: v for k, v in values.items()})
    return SourceRow(line, {k: v for k, v in base.items() if v is not ...})


def check(source: SourceRow, **kwargs):
    return validate_row(source, COLUMNS, now=NOW, **kwargs)


def messages(result) -> str:
    return " | ".join(f"{i.field}: {i.message} ({i.value_hint})" for i in [*result.errors, *result.warnings])


# accepted


def test_row_with_known_category_and_a_valid_identifier_is_accepted():
    result = check(row())
    assert result.status == "accepted" and result.errors == []
    lead = result.lead
    assert lead.category.code == "LOAN_INTERMEDIARY"
    assert [i.value for i in lead.identifiers] == ["+8613800138000"]
    assert lead.observed_at == datetime(2024, 5, 3, 6, 22, tzinfo=timezone.utc)
    assert (lead.confidence, lead.tlp, lead.agent, lead.note, lead.reference) == (0.7, "AMBER", None, None, None)


def test_category_may_be_written_as_code_label_or_alias():
    for text in ("LOAN_INTERMEDIARY", "贷款中介", "中介代办", " loan intermediary "):
        assert check(row(类型=text)).lead.category.code == "LOAN_INTERMEDIARY"


def test_operator_alias_resolves_the_category():
    result = check(row(类型="套路贷"), extra_aliases={"套路贷": "LOAN_INTERMEDIARY"})
    assert result.lead.category.code == "LOAN_INTERMEDIARY"


def test_several_identifier_columns_and_cells_all_become_identifiers():
    result = check(row(手机号=f"{PHONE}、{OTHER_PHONE}", 身份证号="11010519491231002X"))
    assert sorted(i.type.value for i in result.lead.identifiers) == ["id_number", "phone", "phone"]


def test_the_same_identifier_twice_in_a_row_counts_once():
    result = check(row(手机号=PHONE, 手机号2=f"+86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}"))
    assert len(result.lead.identifiers) == 1


def test_a_phone_from_a_number_cell_is_accepted():
    assert check(row(手机号=13800138000)).status == "accepted"


# rejected


def test_row_with_unknown_category_is_rejected_listing_accepted_codes():
    result = check(row(类型="外星人"))
    assert result.status == "rejected" and result.lead is None
    (error,) = result.errors
    assert error.field == "category" and "外星人" in error.message
    assert "LOAN_INTERMEDIARY (贷款中介)" in error.message and "FAKE_LOAN_APP (虚假贷款)" in error.message
    assert error.value_hint == "column 类型"


def test_row_without_a_category_is_rejected_listing_accepted_codes():
    result = check(row(类型=""))
    assert result.status == "rejected" and "MONEY_MULE" in result.errors[0].message


def test_invalid_identifier_of_an_accepted_row_is_a_field_warning():
    result = check(row(手机号2="12345"))
    assert result.status == "accepted"
    (warning,) = result.warnings
    assert warning.field == "phone" and warning.value_hint == "column 手机号2"


def test_row_with_no_valid_identifier_is_rejected_with_each_reason():
    result = check(row(手机号="1390013911", 身份证号="110105194912310021"))
    assert result.status == "rejected"
    assert [e.field for e in result.errors] == ["identifiers", "phone", "id_number"]


def test_row_with_no_identifier_at_all_is_rejected_naming_the_identifier_columns():
    result = check(row(手机号=...))
    assert result.status == "rejected"
    assert "手机号, 手机号2, 身份证号" in result.errors[0].message


def test_benign_number_beside_a_valid_identifier_is_dropped_with_a_warning():
    result = check(row(手机号2="95588"))
    assert result.status == "accepted" and len(result.lead.identifiers) == 1
    (warning,) = result.warnings
    assert warning.message.startswith("dropped:") and "service" in warning.message


def test_row_naming_only_a_benign_number_is_rejected_with_the_benign_reason():
    result = check(row(手机号="110"))
    assert result.status == "rejected"
    (error,) = result.errors
    assert error.field == "phone" and "emergency" in error.message


def test_number_cell_that_lost_digits_in_excel_is_refused_not_repaired():
    result = check(row(手机号=..., 身份证号=1.10105194912310e17))
    assert result.status == "rejected" and "15" in messages(result)


def test_future_observation_time_is_rejected():
    result = check(row(发现时间=(NOW + timedelta(days=1)).isoformat()))
    assert result.status == "rejected" and "future" in result.errors[0].message


def test_observation_time_before_2000_is_rejected():
    assert check(row(发现时间="1999-01-01")).status == "rejected"


def test_unreadable_observation_time_is_rejected_naming_accepted_formats():
    result = check(row(发现时间="上周二"))
    assert result.status == "rejected" and "2024年5月3日" in result.errors[0].message


def test_unknown_tlp_is_rejected_rather_than_guessed():
    result = check(row(TLP="紫色"))
    assert result.status == "rejected" and "RED, AMBER" in result.errors[0].message


# skipped


def test_blank_row_is_skipped():
    result = check(SourceRow(5, {h: "" for h in HEADERS}))
    assert (result.status, result.errors, result.warnings) == ("skipped", [], [])


@pytest.mark.parametrize("placeholder", ["-", "无", "N/A", "#N/A", "null", "  ", None])
def test_placeholder_values_count_as_blank(placeholder):
    assert check(SourceRow(5, {h: placeholder for h in HEADERS})).status == "skipped"


def test_row_with_values_only_in_unmapped_columns_is_skipped():
    assert check(SourceRow(5, {"序号": "17"})).status == "skipped"


# duplicates


def test_exact_duplicate_row_is_marked_duplicate():
    results = list(validate_stream([row(2), row(3)], COLUMNS, now=NOW))
    assert [r.status for r in results] == ["accepted", "duplicate"]
    assert results[1].lead is None and "earlier row" in results[1].warnings[0].message


def test_rows_differing_only_in_formatting_are_duplicates():
    plain = row(2, 手机号=PHONE, 类型="贷款中介", 发现时间="2024-05-03 14:22", 置信度="80", TLP="红")
    noisy = row(3, 手机号="+86 138-0013-8000", 类型=" loan_intermediary ", 发现时间="2024年5月3日 14时22分",
                置信度="0.8", TLP="TLP:RED")  # fmt: skip
    assert [r.status for r in validate_stream([plain, noisy], COLUMNS, now=NOW)] == ["accepted", "duplicate"]


def test_rows_with_different_content_are_not_duplicates():
    results = validate_stream([row(2, 备注="a"), row(3, 备注="b"), row(4, 中介="x")], COLUMNS, now=NOW)
    assert [r.status for r in results] == ["accepted"] * 3


def test_only_accepted_rows_count_for_duplicates():
    bad = row(类型="外星人")
    assert [r.status for r in validate_stream([bad, bad], COLUMNS, now=NOW)] == ["rejected", "rejected"]


def test_deduper_passes_non_accepted_results_through():
    skipped = check(SourceRow(2, {}))
    assert RowDeduper().check(skipped) is skipped


# defaults and parsing


def test_missing_observation_time_defaults_to_upload_time_with_a_warning():
    result = check(row(发现时间=""))
    assert result.status == "accepted" and result.lead.observed_at == NOW
    assert result.warnings[0].field == "observed_at"


def test_a_row_without_a_date_hashes_the_same_whatever_the_upload_time():
    first = validate_row(row(发现时间=...), COLUMNS, now=NOW)
    later = validate_row(row(发现时间=...), COLUMNS, now=NOW + timedelta(days=3))
    assert first.lead.content_hash == later.lead.content_hash


@pytest.mark.parametrize(
    "value, expected",
    [(0.8, 0.8), ("0.8", 0.8), (80, 0.8), ("80", 0.8), ("80%", 0.8), ("８０％", 0.8), (1, 1.0), (0, 0.0),
     ("高", 0.9), ("中", 0.7), ("低", 0.4), ("High", 0.9), ("medium", 0.7), ("LOW", 0.4), ("", DEFAULT_CONFIDENCE)],
)  # fmt: skip
def test_confidence_accepts_fractions_percentages_and_words(value, expected):
    assert check(row(置信度=value)).lead.confidence == expected


@pytest.mark.parametrize("value", ["很可能", 150, -3, True])
def test_unreadable_confidence_falls_back_to_the_default_with_a_warning(value):
    result = check(row(置信度=value))
    assert result.lead.confidence == DEFAULT_CONFIDENCE
    assert result.warnings[0].field == "confidence"


@pytest.mark.parametrize(
    "value, expected",
    [("RED", "RED"), ("tlp:amber", "AMBER"), ("TLP:GREEN", "GREEN"), ("clear", "CLEAR"), ("WHITE", "CLEAR"),
     ("红", "RED"), ("琥珀", "AMBER"), ("绿色", "GREEN"), ("白", "CLEAR"), ("", DEFAULT_TLP)],
)  # fmt: skip
def test_tlp_accepts_levels_in_english_and_chinese(value, expected):
    assert check(row(TLP=value)).lead.tlp == expected


def test_amber_strict_is_kept_as_amber_with_a_warning():
    result = check(row(TLP="TLP:AMBER+STRICT"))
    assert result.lead.tlp == "AMBER" and result.warnings[0].field == "tlp"


@pytest.mark.parametrize("field, header, limit", [("note", "备注", 2000), ("agent", "中介", 200), ("reference", "编号", 200)])
def test_over_long_text_is_truncated_with_a_warning(field, header, limit):
    result = check(row(**{header: "长" * (limit + 50)}))
    assert result.status == "accepted"
    assert len(getattr(result.lead, field)) == limit
    assert result.warnings[0].field == field


def test_agent_labels_are_normalized_for_matching_across_members():
    assert check(row(中介="  张三　 团伙 ")).lead.agent == "张三 团伙"


def test_numeric_reference_reads_as_its_digits():
    assert check(row(编号=20240503.0)).lead.reference == "20240503"


# privacy and robustness


def test_messages_never_echo_identifier_values():
    raw = ["1390013911", "110", "11010519491231002Y", "6.22202E+18"]
    result = check(row(手机号=f"{raw[0]};{raw[1]}", 身份证号=raw[2], 手机号2=raw[3]))
    text = messages(result)
    assert result.status == "rejected"
    assert not any(value in text for value in raw), text


def test_content_hash_is_keyed_when_a_key_is_given():
    plain, keyed, other = check(row()), check(row(), content_key=b"k1"), check(row(), content_key=b"k2")
    assert len({plain.lead.content_hash, keyed.lead.content_hash, other.lead.content_hash}) == 3
    assert check(row(), content_key=b"k1").lead.content_hash == keyed.lead.content_hash


def test_a_crashing_identifier_rule_costs_one_identifier_not_the_row(monkeypatch):
    real = rows_module.normalize

    def flaky(type_name, raw, *, vendor=None):
        if type_name == "id_number":
            raise RuntimeError("bug")
        return real(type_name, raw, vendor=vendor)

    monkeypatch.setattr(rows_module, "normalize", flaky)
    result = check(row(身份证号="11010519491231002X"))
    assert result.status == "accepted" and "internal error" in result.warnings[0].message


def test_reader_notes_become_row_warnings():
    result = check(SourceRow(2, dict(row().values), notes=("pattern skipped",)))
    assert result.warnings[0].message == "pattern skipped"


def test_headers_first_seen_mid_stream_are_mapped_with_a_warning():
    columns = map_header(["phone", "category"])
    later = SourceRow(3, {"phone": PHONE, "category": "羊毛党", "note": "n", "mystery": 1})
    results = list(validate_stream([SourceRow(2, {"phone": PHONE, "category": "羊毛党"}), later], columns, now=NOW))
    assert results[1].lead.note == "n"
    assert any("mystery" in w.message for w in results[1].warnings)


cells = st.one_of(
    st.none(), st.text(max_size=30), st.integers(), st.floats(allow_nan=True), st.booleans(),
    st.lists(st.text(max_size=12), max_size=3), st.datetimes(), st.dictionaries(st.text(max_size=3), st.integers()),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(HEADERS + ["unmapped"]), cells))
def test_no_input_makes_validation_raise(values):
    result = check(SourceRow(2, values))
    assert result.status in ("accepted", "rejected", "skipped")
    assert (result.lead is not None) == (result.status == "accepted")
