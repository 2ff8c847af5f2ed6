import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import ip
from ingest.identifiers.result import IdentifierType, Invalid, Normalized


@given(st.ip_addresses().filter(lambda a: a.is_global and not a.is_multicast and not a.is_reserved and not (a.version == 6 and a.ipv4_mapped)))
def test_public_addresses_round_trip_in_canonical_form(address):
    for text in (str(address), address.exploded.upper() if address.version == 6 else str(address)):
        result = ip.normalize(text)
        assert isinstance(result, Normalized) and result.type is IdentifierType.IP
        assert result.value == str(address)
        assert result.attributes == {"version": str(address.version)}
        assert ip.normalize(result.value) == result


def test_ipv4_mapped_ipv6_becomes_ipv4():
    assert ip.normalize("::ffff:8.8.8.8").value == "8.8.8.8"


def test_ipv6_is_compressed_lower_case_and_brackets_are_accepted():
    assert ip.normalize("[2001:4860:4860:0000:0000:0000:0000:8888]").value == "2001:4860:4860::8888"
    assert ip.normalize("２４０Ｅ::1").value == "240e::1"


@pytest.mark.parametrize(
    "raw, words",
    [("10.1.2.3", "private"), ("192.168.1.1", "private"), ("127.0.0.1", "loopback"), ("::1", "loopback"),
     ("169.254.1.1", "link-local"), ("fe80::1", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
     ("240.0.0.1", "not public"), ("100.64.0.1", "not public"), ("::ffff:10.0.0.1", "private"),
     ("fe80::1%eth0", "zone")],
)
def test_non_public_addresses_are_refused(raw, words):
    result = ip.normalize(raw)
    assert isinstance(result, Invalid) and words in result.reason and "matchable" in result.reason or "zone" in words


@pytest.mark.parametrize("raw", ["1.2.3", "01.2.3.4", "8.8.8.8:80", "8.8.8.0/24", "example.com"])
def test_malformed_addresses_are_refused(raw):
    result = ip.normalize(raw)
    assert isinstance(result, Invalid) and "not an IP address" in result.reason


def test_empty():
    assert "empty" in ip.normalize("").reason
