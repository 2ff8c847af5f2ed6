import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import imei
from ingest.identifiers._common import luhn_check_digit, luhn_valid
from ingest.identifiers.result import IdentifierType, Invalid, Normalized

cores = st.text("0123456789", min_size=14, max_size=14).filter(lambda s: s.strip("0"))


@given(cores)
def test_fourteen_digits_get_their_check_digit(core):
    result = imei.normalize(core)
    assert isinstance(result, Normalized) and result.type is IdentifierType.IMEI
    assert result.value == core + luhn_check_digit(core) and luhn_valid(result.value)
    assert result.attributes == {"tac": core[:8]}
    assert imei.normalize(result.value) == result


@given(cores, st.data())
def test_wrong_check_digit_is_refused(core, data):
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != luhn_check_digit(core)]))
    result = imei.normalize(core + wrong)
    assert isinstance(result, Invalid) and "check digit" in result.reason


@given(cores, st.text("0123456789", min_size=2, max_size=2))
def test_imeisv_becomes_core_plus_recomputed_check_digit(core, software_version):
    result = imei.normalize(core + software_version)
    assert result.value == core + luhn_check_digit(core)


def test_known_imei_with_dashes():
    assert imei.normalize("35-209900-176148-1").value == "352099001761481"
    assert imei.normalize("３５２０９９００１７６１４８").value == "352099001761481"


@pytest.mark.parametrize(
    "raw, words",
    [("", "empty"), ("000000000000000", "all-zero"), ("00000000000000", "all-zero"),
     ("1234567890123", "15 digits"), ("12345678901234567", "15 digits"), ("A1000012345678", "15 digits")],
)
def test_refusals(raw, words):
    result = imei.normalize(raw)
    assert isinstance(result, Invalid) and words in result.reason
