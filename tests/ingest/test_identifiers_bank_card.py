import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import bank_card
from ingest.identifiers._common import luhn_check_digit, luhn_valid
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

payloads = st.text("0123456789", min_size=11, max_size=18).filter(lambda s: s.strip("0"))


def test_luhn_reference_numbers():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("4111111111111111")
    assert luhn_check_digit("7992739871") == "3"


@given(payloads)
def test_luhn_valid_cards_have_no_warning(payload):
    number = payload + luhn_check_digit(payload)
    result = bank_card.normalize(number)
    assert isinstance(result, Normalized) and result.warnings == ()
    assert bank_card.normalize(result.value) == result


@given(payloads, st.data())
def test_luhn_failure_is_a_warning_not_a_rejection(payload, data):
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != luhn_check_digit(payload)]))
    result = bank_card.normalize(payload + wrong)
    assert isinstance(result, Normalized)
    assert result.value == payload + wrong
    assert any("Luhn" in warning for warning in result.warnings)


def test_spaces_dashes_and_full_width_digits_are_stripped():
    result = bank_card.normalize(" ６２２２-0212 3456 7890 128 ")
    assert result.type is IdentifierType.BANK_CARD
    assert result.value == "6222021234567890128"


@pytest.mark.parametrize(
    "number, network",
    [("6222021234567890128", "unionpay"), ("4111111111111111", "visa"), ("5500000000000004", "mastercard"),
     ("2221000000000009", "mastercard"), ("3530111333300000", "jcb"), ("378282246310005", "amex"),
     ("9400111122223333", None)],
)
def test_card_network_from_iin(number, network):
    assert bank_card.normalize(number).attributes.get("card_network") == network


@pytest.mark.parametrize(
    "raw, words",
    [("", "empty"), ("12345678901", "12–19 digits"), ("12345678901234567890", "12–19 digits"),
     ("6222 0212 3456 789X", "only digits"), ("0000000000000000", "all-zero")],
)
def test_refusals_say_what_is_accepted(raw, words):
    result = bank_card.normalize(raw)
    assert isinstance(result, Invalid) and words in result.reason
