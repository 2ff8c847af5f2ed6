import uuid

import pytest
from hypothesis import given, strategies as st

from ingest.identifiers import ad_id
from ingest.identifiers.result import IdentifierType, Invalid, Normalized


@given(st.uuids().filter(lambda u: u.int))
def test_uuid_round_trips_lower_case_with_or_without_dashes(u):
    for text in (str(u).upper(), u.hex, f"  {u}  ", u.hex.upper()):
        result = ad_id.normalize(text, platform="android")
        assert isinstance(result, Normalized) and result.type is IdentifierType.AD_ID
        assert result.value == str(u)
        assert ad_id.normalize(result.value, platform="android") == result


def test_platform_attribute():
    u = "AEBE52E7-03EE-455A-B3C4-E57283966239"
    assert ad_id.normalize(u, platform="ios").attributes == {"platform": "ios"}
    assert ad_id.normalize(u).attributes == {"platform": "unknown"}
    with pytest.raises(ValueError):
        ad_id.normalize(u, platform="windows")


@pytest.mark.parametrize("raw", [str(uuid.UUID(int=0)), "0" * 32])
def test_all_zeros_means_opted_out(raw):
    result = ad_id.normalize(raw)
    assert isinstance(result, Invalid) and "opted out" in result.reason


@pytest.mark.parametrize("raw", ["aebe52e7-03ee-455a-b3c4", "zebe52e7-03ee-455a-b3c4-e57283966239", "9774d56d682e549c"])
def test_non_uuid_shapes_are_refused(raw):
    result = ad_id.normalize(raw)
    assert isinstance(result, Invalid) and "UUID" in result.reason


def test_empty():
    assert "empty" in ad_id.normalize(" ").reason
