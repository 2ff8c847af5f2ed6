import io
import tracemalloc

import pytest

from ingest.formats import FormatError, detect_format, open_table
from ingest.formats.csv_reader import read_rows
from ingest.formats.csv_reader import open_table as open_csv

LEADS = "手机号,类型,备注\r\n13800138000,贷款中介,第一条\r\n13900139000,羊毛党,第二条\r\n"


def rows_of(data: bytes):
    return list(read_rows(io.BytesIO(data)))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig", "utf-16"])
def test_normal_encodings_decode_to_the_same_rows(encoding):
    table = open_csv(io.BytesIO(LEADS.encode(encoding)))
    assert table.headers == ["手机号", "类型", "备注"]
    assert [(r.line, r.values) for r in table.rows] == [
        (2, {"手机号": "13800138000", "类型": "贷款中介", "备注": "第一条"}),
        (3, {"手机号": "13900139000", "类型": "羊毛党", "备注": "第二条"}),
    ]


def test_gbk_file_whose_first_megabyte_is_ascii_is_still_read_as_gbk():
    ascii_rows = "".join(f"1380013{i:04d},LOAN_INTERMEDIARY,x\r\n" for i in range(40_000))
    data = ("phone,category,note\r\n" + ascii_rows + "13800138000,贷款中介,最后一条\r\n").encode("gbk")
    assert len(data) > 1_000_000
    last = rows_of(data)[-1]
    assert last.values == {"phone": "13800138000", "category": "贷款中介", "note": "最后一条"}
    assert last.line == 40_002


def test_quoted_multiline_cell_keeps_its_newlines_and_later_line_numbers_stay_true():
    data = '手机号,类型,备注\n13800138000,贷款中介,"第一行\n第二行\n第三行"\n13900139000,羊毛党,x\n'.encode()
    rows = rows_of(data)
    assert rows[0].values["备注"] == "第一行\n第二行\n第三行"
    assert [r.line for r in rows] == [2, 5]


def test_crlf_split_across_read_chunks_is_one_line_break():
    filler = "a" * (64 * 1024 - len("手机号,类型,备注\r\n".encode()) - 1)
    data = f"手机号,类型,备注\r\n1,2,{filler}\r\n3,4,5\r\n".encode()  # the \r ends chunk one
    assert [r.line for r in rows_of(data)] == [2, 3]


def test_old_mac_carriage_return_line_endings_are_lines():
    assert [r.line for r in rows_of("手机号,类型\r1,2\r3,4\r".encode("gbk"))] == [2, 3]


def test_leading_blank_lines_are_skipped_and_counted():
    table = open_csv(io.BytesIO("\r\n,,\r\n手机号,类型\r\n1,2\r\n".encode()))
    assert table.headers == ["手机号", "类型"]
    assert [r.line for r in table.rows] == [4]


def test_empty_lines_between_rows_are_not_rows():
    assert [r.line for r in rows_of(b"phone,category\n1,2\n\n3,4\n")] == [2, 4]


def test_repeated_headers_are_numbered_and_blank_headers_named_by_position():
    table = open_csv(io.BytesIO("手机号,手机号,,类型\n1,2,3,4\n".encode()))
    assert table.headers == ["手机号", "手机号_2", "column_3", "类型"]


def test_cells_beyond_the_header_are_kept_under_their_position():
    (row,) = rows_of(b"phone,category\n1,2,,extra\n")
    assert row.values == {"phone": "1", "category": "2", "column_4": "extra"}


def test_short_rows_simply_lack_the_missing_columns():
    (row,) = rows_of(b"phone,category,note\n1\n")
    assert row.values == {"phone": "1"}


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_tab_semicolon_and_pipe_delimiters_are_detected(delimiter):
    data = delimiter.join(["手机号", "类型"]) + "\n" + delimiter.join(["1,5", "2"]) + "\n"
    (row,) = rows_of(data.encode())
    assert row.values == {"手机号": "1,5", "类型": "2"}


def test_empty_file_is_a_format_error():
    with pytest.raises(FormatError, match="empty"):
        open_csv(io.BytesIO(b""))


def test_bytes_invalid_in_the_detected_encoding_are_a_format_error_with_the_line():
    data = ("手机号,类型\n" + "13800138000,贷款中介\n" * 10_000).encode() + b"2,\xff\xfe\xfd\n"
    with pytest.raises(FormatError) as caught:
        rows_of(data)
    assert caught.value.line == 10_002 and "utf-8" in caught.value.message


def test_undecodable_file_is_a_format_error_saying_which_encodings_work():
    with pytest.raises(FormatError, match="UTF-8 or as CSV \\(GBK\\)"):
        rows_of(b"phone,category\n" + bytes(range(0x80, 0x100)) * 4)


def test_runaway_quote_is_a_format_error_not_a_giant_row():
    data = b'phone,category\n"1,2\n' + b"x" * 200_000 + b"\n"
    with pytest.raises(FormatError):
        rows_of(data)


def test_rows_are_produced_lazily():
    class Exploding(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 64 * 1024:
                raise AssertionError("read past the first rows")
            return super().read(size)

    data = b"phone,category\n" + b"13800138000,LOAN_INTERMEDIARY\n" * 50_000
    rows = read_rows(Exploding(data))
    assert next(rows).line == 2


@pytest.mark.parametrize("data", [LEADS.encode("gbk"), LEADS.encode("utf-8-sig"), b"phone,category\n"])
def test_detect_format_calls_text_csv(data):
    assert detect_format("leads.csv", data) == "csv"
    assert open_table(io.BytesIO(data), "csv").headers[0] in ("手机号", "phone")


@pytest.mark.parametrize("magic", [b"%PDF-1.7", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x89PNG\r\n"])
def test_detect_format_refuses_files_that_are_not_lead_batches(magic):
    with pytest.raises(FormatError):
        detect_format("leads.csv", magic + b"\x00" * 100)


def test_reading_a_large_csv_keeps_memory_flat(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="gbk", newline="") as out:
        out.write("手机号,类型,发现时间,置信度,备注\r\n")
        for i in range(200_000):
            out.write(f"138{i:08d},贷款中介,2024/5/3 14:22,80,批量导入的线索第{i}条\r\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for _ in read_rows(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < min(2 * 2**20, size / 6), f"peak {peak} bytes for a {size}-byte file"
