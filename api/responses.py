"""JSON answers of the check paths (GraphQL and POST /v1/checks), written by orjson.

A 10,000-identifier check answers ~5 MB of JSON: the standard library took 44 ms to write it, orjson 3.6 ms (a
single check's answer: 7.9 against 0.4 µs; 6 Dec 2026). orjson refuses a few values the standard library writes
(an integer past 64 bits, a key that is not a string, a lone surrogate); those answers are written by the standard
library (non-ASCII escaped, so that a lone surrogate can be written too). Either way the client reads the same JSON
value. Requests are still read by the standard library: orjson reads an integer past 64 bits as a float, and its
error messages are not the ones we quote.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse

# Dates and dataclasses are not JSON: an answer holding one fails here as it did before, not quietly as a string.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`. NaN and infinity, which JSON cannot say, are written as null (Starlette's
    JSONResponse refused them with a 500, Strawberry wrote `NaN`, which is not JSON)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(_finite(value), allow_nan=False, separators=(",", ":")).encode()  # ASCII: a lone surrogate too


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as None, as orjson writes them (only on the rare standard-library path)."""
    if isinstance(value, float):
        return value if value - value == 0 else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class JSONBody(JSONResponse):
    """Starlette's JSONResponse, written by json_bytes."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
