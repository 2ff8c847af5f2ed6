"""api/responses.py: the check paths' answers, written by orjson, read back as the standard library wrote them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest

from api.graphql.endpoint import FenghuoGraphQL
from api.responses import JSONBody, json_bytes

VALUES = [
    None, True, False, 0, -1, 2**63 - 1, -(2**63), 0.1, -0.0, 1e-7, 1.7976931348623157e308, 5e-324,
    "", "13800138000", "中文 名字", "emoji 😀", "quote \" backslash \\ slash /", "control \x00\x01\x1f\n\t\r",
    "\u2028\u2029", [], {}, [1, [2, [3, []]]], (1, "two"),
    {"checkedAt": "2026-12-06T03:00:00+08:00", "leads": [{"ref": "app-1", "score": 73, "level": "HIGH",
                                                       "identifiers": [{"masked": "138****8000", "network": None}]}]},
    # orjson refuses the five below (integers past 64 bits, a key that is not a string, a lone surrogate)
    2**64, -(2**70), {"big": [2**100]},
    {1: "an int key", "2": "a string key"},
    "a lone surrogate \ud800",
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_every_answer_reads_back_as_the_standard_library_wrote_it(value):
    written = json_bytes(value)
    assert isinstance(written, bytes)
    expected = json.loads(json.dumps(value))
    got = json.loads(written)
    assert got == expected
    assert json.dumps(got) == json.dumps(expected)  # -0.0 stays -0.0, 1 stays an int


def test_answers_are_compact_utf8_without_escapes():
    assert json_bytes({"名字": "张三", "list": [1, 2]}) == '{"名字":"张三","list":[1,2]}'.encode()


@pytest.mark.parametrize("value, expected", [
    ({"a": math.nan}, b'{"a":null}'),
    ({"a": math.inf, "big": 2**70}, b'{"a":null,"big":1180591620717411303424}'),  # the standard library's path
    ([-math.inf, (math.nan, 1.5)], b'[null,[null,1.5]]'),
])
def test_nan_and_infinity_are_null_on_either_path(value, expected):
    assert json_bytes(value) == expected


@dataclass
class _Row:
    key: str


@pytest.mark.parametrize("value", [{"at": datetime.now(timezone.utc)}, [_Row("k")], {2**70: 1, "x": object()}])
def test_values_that_are_not_json_fail_as_before(value):
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        json_bytes(value)


def test_json_body_response_writes_with_json_bytes():
    response = JSONBody({"leads": [{"ref": "中", "score": 2**64}]}, status_code=200)
    assert response.body == b'{"leads":[{"ref":"\\u4e2d","score":18446744073709551616}]}'  # the standard library's path
    assert JSONBody({"ref": "中"}).body == '{"ref":"中"}'.encode()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.body))


def test_graphql_answers_are_written_with_json_bytes():
    data = {"data": {"checkLeads": [{"ref": "申请-1", "score": 0}]}, "errors": [{"message": "x", "path": ["a", 0]}]}
    assert FenghuoGraphQL.encode_json(None, data) == json_bytes(data)  # type: ignore[arg-type]
    assert json.loads(FenghuoGraphQL.encode_json(None, data)) == data  # type: ignore[arg-type]
