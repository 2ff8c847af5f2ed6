from hypothesis import given
from hypothesis import strategies as st

from ingest.fingerprints import FingerprintSet


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=3000))
def test_behaves_like_a_set_of_64_bit_ints(values: list[int]) -> None:
    compact, reference = FingerprintSet(capacity=4), set()
    for value in values:
        assert compact.add(value) == ((value or 1) not in reference)
        reference.add(value or 1)
    assert len(compact) == len(reference)


def test_a_million_fingerprints_take_about_8_bytes_each() -> None:
    compact = FingerprintSet()
    for n in range(1_000_000):
        compact.add(n * 0x9E3779B97F4A7C15 % 2**64)
    assert len(compact) == 1_000_000
    assert compact._slots.itemsize * len(compact._slots) <= 16 * 1024 * 1024 + 64
