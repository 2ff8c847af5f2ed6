"""Batch defaults: what a user may type, the errors they get, and how rows without a value take them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.errors import BadInput
from ingest.columns import ColumnError, map_header
from ingest.defaults import BatchDefaults, content_hash
from ingest.formats import SourceRow
from ingest.rows import validate_row

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


def test_parse_resolves_labels_and_normalises_every_field() -> None:
    defaults = BatchDefaults.parse(category="贷款中介", tlp="tlp:amber", confidence="0.8", observed_at="2026-11-30",
                                   agent="  王  中介 ", now=NOW)
    assert defaults == BatchDefaults(category="LOAN_INTERMEDIARY", tlp="AMBER", confidence=0.8,
                                     observed_at=datetime(2026, 11, 29, 16, 0, tzinfo=timezone.utc), agent="王 中介")


def test_parse_of_nothing_is_empty_defaults() -> None:
    defaults = BatchDefaults.parse(category=" ", tlp=None, confidence="", now=NOW)
    assert not defaults and defaults.as_properties() == {}


def test_unknown_category_lists_the_accepted_codes_and_labels() -> None:
    with pytest.raises(BadInput) as raised:
        BatchDefaults.parse(category="诈骗", now=NOW)
    assert "'诈骗'" in raised.value.message and "LOAN_INTERMEDIARY (贷款中介)" in raised.value.message
    assert raised.value.details == {"field": "category"}


@pytest.mark.parametrize("field, value, expected", [
    ("tlp", "PURPLE", "accepted: RED, AMBER"),
    ("confidence", "1.5", "outside 0–1"),
    ("confidence", "-0.1", "outside 0–1"),
    ("confidence", "很高", "outside 0–1"),
    ("observed_at", "2026-13-45", "accepted: 2024-05-03"),
    ("observed_at", "2027-06-01", "in the future"),
])
def test_bad_default_is_refused_naming_the_field_and_what_is_accepted(field: str, value: str, expected: str) -> None:
    with pytest.raises(BadInput) as raised:
        BatchDefaults.parse(**{field: value}, now=NOW)
    assert expected in raised.value.message and raised.value.details == {"field": field}


def test_confidence_accepts_percent_and_words() -> None:
    assert BatchDefaults.parse(confidence="80%").confidence == 0.8
    assert BatchDefaults.parse(confidence="高").confidence == 0.9


def test_defaults_change_the_content_identity_and_no_defaults_keep_the_file_digest() -> None:
    digest = "ab" * 32
    assert content_hash(digest, None) == content_hash(digest, BatchDefaults()) == digest
    one = content_hash(digest, BatchDefaults(category="LOAN_INTERMEDIARY"))
    two = content_hash(digest, BatchDefaults(category="MONEY_MULE"))
    assert len({digest, one, two}) == 3


def test_a_file_without_category_column_is_readable_only_with_a_default_category() -> None:
    assert isinstance(map_header(["手机号"]), ColumnError)
    assert not isinstance(map_header(["手机号"], default_category=True), ColumnError)


def test_defaults_fill_empty_fields_and_never_override_a_rows_own_values() -> None:
    columns = map_header(["手机号", "类型", "置信度", "tlp", "发现时间", "团伙"])
    assert not isinstance(columns, ColumnError)
    defaults = BatchDefaults.parse(category="贷款中介", tlp="RED", confidence="0.8", observed_at="2026-11-30",
                                   agent="A团伙", now=NOW)
    empty = SourceRow(line=2, values={"手机号": "13800138000"})
    own = SourceRow(line=3, values={"手机号": "13800138001", "类型": "跑分", "置信度": "0.5", "tlp": "GREEN",
                                    "发现时间": "2026-10-01", "团伙": "B团伙"})
    filled = validate_row(empty, columns, now=NOW, defaults=defaults).lead
    kept = validate_row(own, columns, now=NOW, defaults=defaults).lead
    assert filled is not None and kept is not None
    assert (filled.category.code, filled.tlp, filled.confidence, filled.agent) == ("LOAN_INTERMEDIARY", "RED", 0.8, "A团伙")
    assert filled.observed_at == defaults.observed_at
    assert (kept.category.code, kept.tlp, kept.confidence, kept.agent) == ("MONEY_MULE", "GREEN", 0.5, "B团伙")
    assert kept.observed_at.date().isoformat() == "2026-09-30"


def test_a_rows_unknown_category_stays_an_error_despite_a_default() -> None:
    columns = map_header(["手机号", "类型"])
    assert not isinstance(columns, ColumnError)
    row = SourceRow(line=2, values={"手机号": "13800138000", "类型": "诈骗"})
    result = validate_row(row, columns, now=NOW, defaults=BatchDefaults(category="LOAN_INTERMEDIARY"))
    assert result.status == "rejected" and result.errors[0].field == "category"
