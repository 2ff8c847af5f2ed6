import io
import json

import pytest

from ingest.columns import map_header
from ingest.formats import FormatError, detect_format, open_table
from ingest.formats.stix_reader import read_rows

TLP2_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
TLP1_WHITE = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
TLP2_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
LOCAL_GREEN = "marking-definition--00000000-0000-4000-8000-000000000001"


def indicator(n: int, pattern: str, **extra) -> dict:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2024-05-01T00:00:00Z", "modified": "2024-05-01T00:00:00Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2024-05-03T06:22:00Z", **extra,
    }  # fmt: skip


BUNDLE = {
    "type": "bundle",
    "id": "bundle--00000000-0000-4000-8000-000000000000",
    "objects": [
        {"type": "marking-definition", "id": LOCAL_GREEN, "definition_type": "tlp", "definition": {"tlp": "green"}},
        indicator(1, "[ipv4-addr:value = '123.125.114.144']", labels=["malicious-activity", "贷款中介"], confidence=85,
                  object_marking_refs=[TLP2_RED], description="中介 IP"),
        indicator(2, "[x-fenghuo-phone:value = '13800138000'] AND [user-account:account_login = 'wxid_abc123' "
                     "AND user-account:account_type = 'wechat']", x_fenghuo_category="MONEY_MULE",
                  object_marking_refs=[TLP1_WHITE, TLP2_AMBER_STRICT]),
        indicator(3, "[domain-name:value = 'a.example.com' OR domain-name:value = 'b.example.com']",
                  indicator_types=["malicious-activity"], labels=["虚假网贷"], object_marking_refs=[LOCAL_GREEN]),
        indicator(4, "[url:value MATCHES '^http://evil']", labels=["虚假贷款"]),
        indicator(5, "[ipv4-addr:value = '198.51.100.1']", labels=["贷款中介"], revoked=True),
        {"type": "ipv4-addr", "id": "ipv4-addr--00000000-0000-4000-8000-000000000011", "value": "61.135.169.125"},
        {"type": "x-fenghuo-identifier", "id": "x-fenghuo-identifier--00000000-0000-4000-8000-000000000012",
         "identifier_type": "bank_card", "value": "6222020200112345678"},
        {"type": "observed-data", "id": "observed-data--00000000-0000-4000-8000-000000000013",
         "first_observed": "2024-04-01T00:00:00Z", "last_observed": "2024-04-02T00:00:00Z", "number_observed": 1,
         "labels": ["跑分"], "object_refs": ["ipv4-addr--00000000-0000-4000-8000-000000000011",
                                           "x-fenghuo-identifier--00000000-0000-4000-8000-000000000012"]},
        {"type": "threat-actor", "id": "threat-actor--00000000-0000-4000-8000-000000000021", "name": "王某团伙"},
        {"type": "relationship", "id": "relationship--00000000-0000-4000-8000-000000000031",
         "relationship_type": "indicates", "source_ref": "indicator--00000000-0000-4000-8000-000000000001",
         "target_ref": "threat-actor--00000000-0000-4000-8000-000000000021"},
    ],
}  # fmt: skip


def bundle_bytes(bundle=BUNDLE) -> bytes:
    return json.dumps(bundle, ensure_ascii=False, indent=1).encode()


def rows_by_line():
    return {r.line: r for r in read_rows(io.BytesIO(bundle_bytes()))}


def test_indicators_and_observed_data_are_rows_numbered_by_object_index_plus_one():
    assert sorted(rows_by_line()) == [3, 4, 5, 6, 7, 10]


def test_simple_ipv4_indicator_maps_every_lead_field():
    row = rows_by_line()[3]
    assert row.values == {
        "category": ["贷款中介"],
        "observed_at": "2024-05-03T06:22:00Z",
        "confidence": "85%",
        "tlp": "RED",
        "agent": "王某团伙",  # via the relationship that comes after the indicator
        "note": "中介 IP",
        "reference": "indicator--00000000-0000-4000-8000-000000000001",
        "ip": ["123.125.114.144"],
    }


def test_custom_phone_and_wechat_account_patterns_become_identifiers():
    row = rows_by_line()[4]
    assert row.values["phone"] == ["13800138000"] and row.values["wechat"] == ["wxid_abc123"]
    assert row.values["category"] == ["MONEY_MULE"]


def test_several_markings_give_the_most_restrictive_tlp():
    assert rows_by_line()[4].values["tlp"] == "AMBER+STRICT"


def test_tlp_marking_defined_in_the_bundle_is_honoured():
    assert rows_by_line()[5].values["tlp"] == "GREEN"


def test_or_of_two_comparisons_gives_two_identifiers_of_one_lead():
    assert rows_by_line()[5].values["domain"] == ["a.example.com", "b.example.com"]


def test_generic_stix_indicator_types_are_not_offered_as_categories():
    assert rows_by_line()[5].values["category"] == ["虚假网贷"]


def test_non_equality_pattern_gives_no_identifier_and_a_note():
    row = rows_by_line()[6]
    assert "url" not in row.values
    assert any("other than '='" in n for n in row.notes)


def test_revoked_indicator_is_an_empty_row_with_a_note():
    row = rows_by_line()[7]
    assert row.values == {} and "revoked" in row.notes[0]


def test_observed_data_reads_its_referenced_observables():
    row = rows_by_line()[10]
    assert row.values["ip"] == ["61.135.169.125"] and row.values["bank_card"] == ["6222020200112345678"]
    assert row.values["observed_at"] == "2024-04-01T00:00:00Z" and row.values["category"] == ["跑分"]


def test_vendor_fingerprint_pattern_is_keyed_so_columns_carry_the_vendor():
    bundle = {"type": "bundle", "objects": [indicator(
        1, "[x-fenghuo-device-fingerprint:value = 'abcdef0123456789' AND "
           "x-fenghuo-device-fingerprint:vendor = 'tongdun']", labels=["设备农场"])]}  # fmt: skip
    (row,) = read_rows(io.BytesIO(bundle_bytes(bundle)))
    assert row.values["tongdun_fingerprint"] == ["abcdef0123456789"]


def test_malformed_properties_do_not_crash_the_reader():
    junk = {"type": "bundle", "objects": [
        {"type": "marking-definition", "id": "marking-definition--x", "extensions": [1], "definition": "tlp"},
        {"type": "relationship", "source_ref": {"a": 1}, "target_ref": None},
        indicator(1, "[ipv4-addr:value = '123.125.114.144']", labels="贷款中介", object_marking_refs=[{"x": 1}],
                  indicator_types=None),
        {"type": "observed-data", "id": "observed-data--1", "object_refs": [["nested"]], "objects": "none"},
        indicator(2, 42),
    ]}  # fmt: skip
    rows = list(read_rows(io.BytesIO(bundle_bytes(junk))))
    assert [r.line for r in rows] == [4, 5, 6]
    assert rows[0].values["ip"] == ["123.125.114.144"] and rows[0].values["category"] == []


def test_non_seekable_stream_is_spooled_for_the_second_pass():
    class Pipe(io.BytesIO):
        def seekable(self):
            return False

    assert len(list(read_rows(Pipe(bundle_bytes())))) == 6


def test_a_json_object_that_is_not_a_bundle_is_a_format_error():
    with pytest.raises(FormatError, match="bundle"):
        list(read_rows(io.BytesIO(b'{"type": "indicator", "objects": []}')))


def test_headers_map_to_lead_fields_one_to_one():
    table = open_table(io.BytesIO(bundle_bytes()), "stix")
    columns = map_header(table.headers)
    assert columns.lead_column("category").header == "category" and columns.ignored == []


def test_detect_format_recognises_a_bundle():
    assert detect_format("export.json", bundle_bytes()[:4096]) == "stix"


def test_stix_rows_pass_the_row_policy():
    from datetime import datetime, timezone

    from ingest.rows import validate_stream

    table = open_table(io.BytesIO(bundle_bytes()), "stix")
    results = {
        r.line: r
        for r in validate_stream(table.rows, map_header(table.headers), now=datetime(2024, 6, 1, tzinfo=timezone.utc))
    }
    first = results[3].lead
    assert (first.category.code, first.tlp, first.confidence, first.agent) == ("LOAN_INTERMEDIARY", "RED", 0.85, "王某团伙")
    assert results[4].lead.tlp == "AMBER" and results[4].lead.category.code == "MONEY_MULE"
    assert results[6].status == "rejected" and results[7].status == "skipped"
    assert results[10].lead.category.code == "MONEY_MULE"
