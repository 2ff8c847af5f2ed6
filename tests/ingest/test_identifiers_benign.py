import pytest

from ingest.identifiers.benign import service_number_label, service_numbers


@pytest.mark.parametrize(
    "number, label",
    [("110", "公安报警电话"), ("95588", "中国工商银行客服"), ("95516", "中国银联客服"), ("95188", "支付宝客服"),
     ("95017", "财付通/微信支付客服"), ("10086", "中国移动客服"), ("96110", "反诈预警劝阻专线"), ("12381", "涉诈预警劝阻短信")],
)
def test_known_service_numbers_have_labels(number, label):
    assert service_number_label(number) == label


def test_required_numbers_are_all_listed():
    required = ("110 119 120 122 12110 999 95588 95533 95599 95566 95555 95559 95528 95568 95595 95508 95561 95577 "
                "95558 95580 95516 95188 95017 10086 10010 10000 12315 12345 12321 12306 96110 12381").split()
    assert not [n for n in required if n not in service_numbers()]


def test_unknown_numbers_have_no_label():
    assert service_number_label("13800138000") is None
    assert service_number_label("") is None


def test_data_is_loaded_once():
    assert service_numbers() is service_numbers()
    assert all(number.isdigit() and label for number, label in service_numbers().items())
