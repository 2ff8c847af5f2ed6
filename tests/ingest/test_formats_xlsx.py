import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from ingest.formats import FormatError, detect_format, open_table
from ingest.formats.xlsx_reader import open_table as open_xlsx
from ingest.formats.xlsx_reader import read_rows


def workbook_file(tmp_path, *sheets: tuple[str, list[list]]):
    """An .xlsx written the way big exports are: openpyxl write_only."""
    workbook = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / "leads.xlsx"
    workbook.save(path)
    return path


LEADS = [
    ["手机号", "类型", "发现时间", "置信度"],
    [13800138000.0, "贷款中介", datetime(2024, 5, 3, 14, 22), 0.8],
    ["13900139000", "羊毛党", 45415, 80],
]


def test_header_is_line_one_and_rows_carry_sheet_row_numbers(tmp_path):
    with workbook_file(tmp_path, ("线索", LEADS)).open("rb") as stream:
        table = open_xlsx(stream)
        rows = list(table.rows)
    assert table.headers == ["手机号", "类型", "发现时间", "置信度"]
    assert [r.line for r in rows] == [2, 3]


def test_integral_number_cells_become_integers_so_phones_keep_their_digits(tmp_path):
    with workbook_file(tmp_path, ("线索", LEADS)).open("rb") as stream:
        first = next(read_rows(stream))
    assert first.values["手机号"] == 13800138000 and isinstance(first.values["手机号"], int)


def test_date_cells_are_datetimes_and_plain_numbers_stay_numbers(tmp_path):
    with workbook_file(tmp_path, ("线索", LEADS)).open("rb") as stream:
        first, second = read_rows(stream)
    assert first.values["发现时间"] == datetime(2024, 5, 3, 14, 22)
    assert second.values["发现时间"] == 45415 and first.values["置信度"] == 0.8


def test_number_cells_of_more_than_15_digits_stay_floats_to_be_refused_later(tmp_path):
    rows = [["身份证号", "类型"], [1.10105194912310e17, "身份冒用"]]
    with workbook_file(tmp_path, ("线索", rows)).open("rb") as stream:
        (row,) = read_rows(stream)
    assert isinstance(row.values["身份证号"], float)


def test_text_cell_showing_scientific_notation_stays_text(tmp_path):
    rows = [["手机号", "类型"], ["1.38001E+10", "贷款中介"]]
    with workbook_file(tmp_path, ("线索", rows)).open("rb") as stream:
        (row,) = read_rows(stream)
    assert row.values["手机号"] == "1.38001E+10"


def test_title_rows_above_blank_rows_and_empty_rows_between_leads(tmp_path):
    rows = [[], [None, None], LEADS[0], LEADS[1], [], [None, ""], LEADS[2]]
    with workbook_file(tmp_path, ("线索", rows)).open("rb") as stream:
        table = open_xlsx(stream)
        lines = [r.line for r in table.rows]
    assert table.headers[0] == "手机号"
    assert lines == [4, 7]  # row 6 holds only an empty string: not a row either


def test_first_sheet_is_read_unless_a_sheet_is_named(tmp_path):
    path = workbook_file(tmp_path, ("说明", [["本表说明"], ["请勿修改"]]), ("线索", LEADS))
    with path.open("rb") as stream:
        assert open_xlsx(stream).headers == ["本表说明"]
    with path.open("rb") as stream:
        assert open_xlsx(stream, sheet="线索").headers[0] == "手机号"


def test_missing_sheet_name_is_a_format_error_listing_sheets(tmp_path):
    path = workbook_file(tmp_path, ("线索", LEADS))
    with path.open("rb") as stream, pytest.raises(FormatError, match="线索"):
        open_xlsx(stream, sheet="Sheet9")


def test_cells_beyond_the_header_are_kept_under_their_column_letter(tmp_path):
    rows = [["手机号", "类型"], ["13800138000", "贷款中介", None, "extra"]]
    with workbook_file(tmp_path, ("线索", rows)).open("rb") as stream:
        (row,) = read_rows(stream)
    assert row.values["column_D"] == "extra"


def test_repeated_and_blank_headers_get_unique_names(tmp_path):
    rows = [["手机号", "手机号", None, "类型"], ["1", "2", "3", "4"]]
    with workbook_file(tmp_path, ("线索", rows)).open("rb") as stream:
        assert open_xlsx(stream).headers == ["手机号", "手机号_2", "column_C", "类型"]


def test_empty_sheet_is_a_format_error(tmp_path):
    with workbook_file(tmp_path, ("线索", [])).open("rb") as stream, pytest.raises(FormatError, match="empty"):
        open_xlsx(stream)


def test_damaged_workbook_is_a_format_error():
    with pytest.raises(FormatError, match="xlsx"):
        open_xlsx(io.BytesIO(b"PK\x03\x04" + b"\x00" * 200))


def test_non_seekable_upload_is_spooled_and_read(tmp_path):
    data = workbook_file(tmp_path, ("线索", LEADS)).read_bytes()

    class Pipe(io.RawIOBase):
        def __init__(self):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert len(list(read_rows(Pipe()))) == 2


def test_detect_format_recognises_a_workbook_by_its_zip_magic(tmp_path):
    data = workbook_file(tmp_path, ("线索", LEADS)).read_bytes()
    assert detect_format("leads.csv", data[:512]) == "xlsx"
    assert open_table(io.BytesIO(data), "xlsx").headers[0] == "手机号"
