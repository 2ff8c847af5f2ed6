"""Indicator keys as 33-byte records in sorted numpy arrays: how the private-check setup holds its key sets.

An indicator key is `<type>:<64 hex digits>` (ingest/pseudonym.indicator_key). As a Python str in a dict it costs
~180 bytes (the string, and a slot in each dict holding it): ~350 MB of the API process for the 1.94 M keys of 1M
ingested rows. As a record (a byte for the type, 32 for the digest) it costs 33, in one buffer the garbage
collector never walks.

A "set" here is an array of records, sorted, each record once. Record order is the keys' string order (the type
byte is the type's rank in that order), so keys read in key order are sorted records already. Sets are sorted in
place by numpy's default sort (introsort): no buffer beside the records, where the stable sort's merge buffer held
half of them for an unordered read (+32 MB for a 1M-row batch's keys; the default was also the faster here, 0.26 s
against 0.35 s for 2.1 M random records, and 0.06 s against 0.004 s for records already in order).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ingest.identifiers.result import IdentifierType

RECORD = np.dtype("S33")  # compared and sorted as 33 bytes; read back only through `tobytes` (item access strips NULs)
DIGEST_BYTES = 32
# A record's first byte indexes this list, ordered as the keys' `<type>:` prefixes are (records live in memory only).
_TYPES = sorted((t.value for t in IdentifierType), key=lambda name: name + ":")
_PREFIX = {name: bytes([index]) for index, name in enumerate(_TYPES)}
EMPTY = np.empty(0, RECORD)
CHUNK = 1 << 16  # records looked up at once by `contains`


def encode(keys: Iterable[str]) -> tuple[np.ndarray, int]:
    """The keys as records (in the keys' order, repeats kept) and how many were left out for not being of the
    indicator key form (an unknown type, a digest that is not 64 lowercase hex digits). Never says which."""
    records: list[bytes] = []
    odd = 0
    for key in keys:
        type, _, digest = key.partition(":")
        prefix = _PREFIX.get(type)
        try:
            raw = bytes.fromhex(digest)
        except ValueError:
            raw = b""
        if prefix is None or len(raw) != DIGEST_BYTES or raw.hex() != digest:
            odd += 1
            continue
        records.append(prefix + raw)
    return (np.frombuffer(b"".join(records), RECORD) if records else EMPTY), odd


def decode(records: np.ndarray) -> list[str]:
    """The keys of records, in their order."""
    blob, size = records.tobytes(), RECORD.itemsize
    return [f"{_TYPES[blob[at]]}:{blob[at + 1:at + size].hex()}" for at in range(0, len(blob), size)]


def as_set(records: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """Sorted, each record once. `in_place`: sort `records` itself and drop its repeats in it (`keep`), with no
    second copy of 64 MB at 1.94 M keys; the result may be that array."""
    ordered = records if in_place else records.copy()
    ordered.sort()
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return keep(ordered, first)


def contains(members: np.ndarray, records: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """For each of `records`, whether the set `members` holds it. Looked up `chunk` records at a time: the positions
    and the records they point at (8 + 33 bytes a record) exist for one chunk at once, not for all."""
    found = np.zeros(len(records), bool)
    if not len(members):
        return found
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk]
        at = np.searchsorted(members, part)
        np.minimum(at, len(members) - 1, out=at)
        np.equal(members[at], part, out=found[start:start + chunk])
    return found


def minus(a: np.ndarray, b: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """The records of set `a` that set `b` does not hold (a set; `a` itself when `b` holds none of them).
    `in_place`: taken out of `a` itself (`keep`), where `a` is the caller's to give away."""
    if not len(a) or not len(b):
        return a
    held = contains(b, a)
    if not held.any():
        return a
    np.logical_not(held, out=held)
    return keep(a, held) if in_place else a[held]


def keep(records: np.ndarray, mask: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """The records `mask` marks, in their order. When `records` owns its buffer (`grows_in_place`; no view of it
    may be alive) they are moved to its front a chunk at a time and it is shrunk to them: beside it this holds one
    chunk, where `records[mask]` made a second array of the kept records (+60 MB for a 1M-row batch's keys, read
    into the private-check setup, bench/RUNS.md). `records` itself when every record is kept; a new array
    (`records[mask]`) when it does not own its buffer."""
    if mask.all():
        return records
    if not grows_in_place(records):
        return records[mask]
    kept = 0
    # Kept records only move down: a chunk is copied out before it is written at or below where it was.
    for start in range(0, len(records), chunk):
        part = records[start:start + chunk][mask[start:start + chunk]]
        records[kept:kept + len(part)] = part
        kept += len(part)
    del part
    records.resize(kept, refcheck=False)
    return records


def grows_in_place(records: np.ndarray) -> bool:
    """Whether `records` owns its buffer, so `ndarray.resize` can grow it (by realloc: here it moves the array once,
    so old and new are held together for the copy, but no third array is made)."""
    return records.flags.owndata and records.base is None and records.flags.writeable


def merge_into(grown: np.ndarray, other: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Merge set `other` into set `grown` (no record in both), in `grown` itself, grown to fit (see
    `grows_in_place`; no view of `grown` may be alive); returns where each of `other`'s records now is. Beside the
    merged set this holds `other`'s positions and one chunk's. `np.insert` made a new array and position arrays the
    size of the merge beside both inputs: its peak was twice this one's (tests/psi/test_keyset.py)."""
    n, m = len(grown), len(other)
    at_other = np.searchsorted(grown, other) + np.arange(m)
    grown.resize(n + m, refcheck=False)
    # Each of grown's records moves up by the count of other's records before it. Moved from the top down, a chunk
    # lands at or above where it was and below where the chunks above it landed, so nothing unread is overwritten.
    for end in range(n, 0, -chunk):
        start = max(0, end - chunk)
        part = grown[start:end].copy()
        grown[np.arange(start, end) + np.searchsorted(other, part)] = part
    grown[at_other] = other
    return at_other


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[contains(b, a)] if len(a) and len(b) else EMPTY
