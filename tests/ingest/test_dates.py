from datetime import date, datetime, timedelta, timezone

import pytest

from ingest.dates import DateError, parse_observed_at

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def parse(value):
    return parse_observed_at(value, now=NOW)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-03", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("2024-05-03T14:22:05+08:00", datetime(2024, 5, 3, 6, 22, 5, tzinfo=UTC)),
        ("2024-05-03T06:22:05Z", datetime(2024, 5, 3, 6, 22, 5, tzinfo=UTC)),
        ("2024-05-03T14:22:05.123456", datetime(2024, 5, 3, 6, 22, 5, 123456, tzinfo=UTC)),
        ("2024-05-03 14:22", datetime(2024, 5, 3, 6, 22, tzinfo=UTC)),
        ("2024/5/3", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("2024/5/3 9:05", datetime(2024, 5, 3, 1, 5, tzinfo=UTC)),
        ("2024.05.03", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("20240503T142205", datetime(2024, 5, 3, 6, 22, 5, tzinfo=UTC)),
        ("2024年5月3日", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("2024年5月3日 14时22分", datetime(2024, 5, 3, 6, 22, tzinfo=UTC)),
        ("2024年5月3日14:22:30", datetime(2024, 5, 3, 6, 22, 30, tzinfo=UTC)),
        ("２０２４／５／３", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("20240503", datetime(2024, 5, 2, 16, 0, tzinfo=UTC)),
        ("1714717325", datetime(2024, 5, 3, 6, 22, 5, tzinfo=UTC)),
        ("1714717325000", datetime(2024, 5, 3, 6, 22, 5, tzinfo=UTC)),
    ],
)
def test_text_dates_parse_to_utc_with_naive_as_beijing_time(text, expected):
    assert parse(text) == expected


def test_results_are_aware_utc():
    assert parse("2024-05-03").tzinfo == timezone.utc


@pytest.mark.parametrize("serial", [45415, "45415"])
def test_excel_serial_is_a_date_in_the_1900_system(serial):
    assert parse(serial) == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)  # 2024-05-03 in Beijing


@pytest.mark.parametrize("serial", [45415.6, "45415.6"])
def test_excel_serial_fraction_is_time_of_day_rounded_to_the_second(serial):
    assert parse(serial) == datetime(2024, 5, 3, 6, 24, tzinfo=UTC)  # 14:24 Beijing


def test_excel_serial_of_2000_01_01_accounts_for_the_1900_leap_year_bug():
    assert parse(36526) == datetime(1999, 12, 31, 16, 0, tzinfo=UTC)  # 2000-01-01 00:00 Beijing


def test_naive_datetime_from_a_workbook_is_beijing_time():
    assert parse(datetime(2024, 5, 3, 14, 22)) == datetime(2024, 5, 3, 6, 22, tzinfo=UTC)


def test_aware_datetime_is_converted_to_utc():
    aware = datetime(2024, 5, 3, 14, 22, tzinfo=timezone(timedelta(hours=8)))
    assert parse(aware) == datetime(2024, 5, 3, 6, 22, tzinfo=UTC)


def test_date_object_is_beijing_midnight():
    assert parse(date(2024, 5, 3)) == datetime(2024, 5, 2, 16, 0, tzinfo=UTC)


def test_future_date_beyond_clock_skew_is_an_error():
    result = parse(NOW + timedelta(minutes=6))
    assert isinstance(result, DateError) and "future" in result.reason


def test_date_within_five_minutes_of_clock_skew_is_accepted():
    assert parse(NOW + timedelta(minutes=4)) == NOW + timedelta(minutes=4)


@pytest.mark.parametrize("value", ["1999-12-31", "1999-12-31T15:59:59Z", 100, datetime(1990, 1, 1)])
def test_date_before_2000_is_an_error(value):
    result = parse(value)
    assert isinstance(result, DateError) and "2000" in result.reason


@pytest.mark.parametrize("value", ["2024-02-30", "2024年13月1日", "20241340", "2024-05-03 25:00"])
def test_impossible_dates_are_errors(value):
    assert isinstance(parse(value), DateError)


@pytest.mark.parametrize("value", ["yesterday", "03/05/2024", "", True, [2024], 10**9 * 1.0 + 0.5])
def test_unreadable_values_are_errors_naming_accepted_formats(value):
    result = parse(value)
    assert isinstance(result, DateError)


def test_format_errors_say_what_is_accepted():
    assert "2024年5月3日" in parse("yesterday").reason


def test_naive_now_is_taken_as_utc():
    assert parse_observed_at("2024-05-03", now=datetime(2024, 6, 1)) == datetime(2024, 5, 2, 16, tzinfo=UTC)


def test_absurd_time_zone_offset_is_an_error_not_a_crash():
    assert isinstance(parse("2024-05-03T10:00+99:00"), DateError)
