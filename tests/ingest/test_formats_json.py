import io
import json

import pytest

from ingest.formats import FormatError, detect_format, open_table
from ingest.formats import json_reader
from ingest.formats.json_reader import read_rows

LEADS = [
    {"phone": "13800138000", "category": "贷款中介", "observed_at": "2024-05-03"},
    {"phone": ["13900139000", "13700137000"], "category": "羊毛党", "confidence": 80},
]


def rows_of(data: bytes):
    return list(read_rows(io.BytesIO(data)))


def test_array_elements_are_rows_numbered_index_plus_one():
    rows = rows_of(json.dumps(LEADS, ensure_ascii=False, indent=2).encode())
    assert [(r.line, r.values) for r in rows] == [(2, LEADS[0]), (3, LEADS[1])]


def test_ndjson_objects_are_rows_numbered_by_their_line():
    data = "\n".join(json.dumps(x, ensure_ascii=False) for x in LEADS).encode()
    data = data.replace(b"\n", b"\n\n")  # a blank line between objects
    assert [r.line for r in rows_of(data)] == [1, 3]


def test_pretty_printed_objects_one_after_another_are_rows_at_their_first_line():
    data = "\n".join(json.dumps(x, ensure_ascii=False, indent=2) for x in LEADS).encode()
    assert [r.line for r in rows_of(data)] == [1, 6]


def test_headers_are_the_union_of_keys_of_the_first_objects():
    table = json_reader.open_table(io.BytesIO(json.dumps(LEADS).encode()))
    assert table.headers == ["phone", "category", "observed_at", "confidence"]


def test_utf8_bom_is_tolerated():
    assert len(rows_of(b"\xef\xbb\xbf" + json.dumps(LEADS).encode())) == 2


def test_non_utf8_json_is_a_format_error():
    with pytest.raises(FormatError, match="UTF-8"):
        rows_of(json.dumps(LEADS, ensure_ascii=False).encode("gbk"))


def test_empty_array_has_no_rows():
    assert rows_of(b"  [ ]  ") == []


@pytest.mark.parametrize(
    "data, line",
    [
        (b'[{"phone": "1"}, ]', 1),
        (b'[{"phone": "1"}, 5]', 1),
        (b'{"phone": "1"}\n{"phone": }\n', 2),
        (b'[{"phone": "1"}', 1),
        (b'[{"phone": "1"}] trailing', 1),
        (b'"just a string"', 1),
    ],
)
def test_malformed_json_is_a_format_error_with_the_line(data, line):
    with pytest.raises(FormatError) as caught:
        rows_of(data)
    assert caught.value.line == line


def test_values_split_across_read_chunks_parse_whole():
    leads = [{"phone": str(13800000000 + i), "note": "备注" * 50, "confidence": 12345678 + i} for i in range(2000)]
    data = json.dumps(leads, ensure_ascii=False).encode()
    assert len(data) > 4 * json_reader.CHUNK
    rows = rows_of(data)
    assert [r.values for r in rows] == leads


def test_an_element_larger_than_the_limit_is_a_format_error(monkeypatch):
    monkeypatch.setattr(json_reader, "MAX_ELEMENT", 1000)
    data = json.dumps([{"note": "x" * 100_000}]).encode()
    with pytest.raises(FormatError, match="larger"):
        rows_of(data)


def test_rows_are_produced_lazily_from_a_large_array(tmp_path):
    path = tmp_path / "big.json"
    with path.open("w") as out:
        out.write("[")
        out.write(",".join(json.dumps({"phone": f"138{i:08d}", "category": "贷款中介"}) for i in range(50_000)))
        out.write("]")
    with path.open("rb") as stream:
        rows = read_rows(stream)
        next(rows)
        assert stream.tell() < path.stat().st_size / 4


@pytest.mark.parametrize(
    "data, expected",
    [(json.dumps(LEADS).encode(), "json"), (b'{"phone": "1"}\n{"phone": "2"}\n', "ndjson"), (b'\n {"a": 1}', "ndjson")],
)
def test_detect_format_tells_arrays_from_ndjson(data, expected):
    assert detect_format("leads.json", data) == expected
    assert len(list(open_table(io.BytesIO(data), expected).rows)) >= 1
