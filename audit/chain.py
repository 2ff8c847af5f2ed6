"""The hash chain: pure functions, shared by the writer and by `fenghuo audit verify`.

Every record carries the hash of the record before it (one global chain of records); records are appended
in blocks, each block hashing its records and linking to the previous block. Editing a record breaks its
own hash; deleting one breaks the next record's link and its block's record hash; deleting a block breaks
the next block's link (or the head's, for the last one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

GENESIS = "0" * 64
RECORD_FIELDS = ("id", "seq", "at", "principal_id", "member_code", "action", "subject", "request_id", "outcome", "detail")
OPTIONAL_FIELDS = ("purpose",)  # hashed when present, so records written before they existed still verify


def record_hash(prev_hash: str, record: dict[str, Any]) -> str:
    fields = {k: record.get(k) for k in RECORD_FIELDS}
    fields.update({k: record[k] for k in OPTIONAL_FIELDS if record.get(k) is not None})
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{prev_hash}|{canonical}".encode()).hexdigest()


def records_digest(hashes: Iterable[str]) -> str:
    return hashlib.sha256("|".join(hashes).encode()).hexdigest()


def block_hash(prev_hash: str, seq: int, count: int, records_hash: str, created_at: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{count}|{records_hash}|{created_at}".encode()).hexdigest()


@dataclass
class Head:
    seq: int = 0
    hash: str = GENESIS
    record_seq: int = 0
    record_hash: str = GENESIS


@dataclass
class Block:
    seq: int
    prev_hash: str
    records_hash: str
    hash: str
    count: int
    created_at: str
    records: list[dict[str, Any]] = field(default_factory=list)


def seal(head: Head, pending: list[dict[str, Any]], created_at: str) -> Block:
    """Chain `pending` records after `head` and wrap them in the next block."""
    prev, seq, sealed = head.record_hash, head.record_seq, []
    for record in pending:
        seq += 1
        chained = {**record, "seq": seq, "block_seq": head.seq + 1, "prev_hash": prev}
        chained["hash"] = prev = record_hash(chained["prev_hash"], chained)
        sealed.append(chained)
    digest = records_digest(r["hash"] for r in sealed)
    return Block(
        seq=head.seq + 1, prev_hash=head.hash, records_hash=digest, count=len(sealed), created_at=created_at,
        hash=block_hash(head.hash, head.seq + 1, len(sealed), digest, created_at), records=sealed,
    )


@dataclass(frozen=True)
class Break:
    block_seq: int
    record_id: str | None
    problem: str

    def __str__(self) -> str:
        where = f"record {self.record_id} in block {self.block_seq}" if self.record_id else f"block {self.block_seq}"
        return f"{where}: {self.problem}"


class Verifier:
    """Walks blocks in order (feed them one at a time) and remembers the first broken link."""

    def __init__(self) -> None:
        self.expected_block_seq = 1
        self.prev_block_hash = GENESIS
        self.prev_record_hash = GENESIS
        self.expected_record_seq = 1
        self.blocks = 0
        self.records = 0

    def feed(self, block: dict[str, Any], records: list[dict[str, Any]]) -> Break | None:
        seq = block["seq"]
        if seq != self.expected_block_seq:
            return Break(self.expected_block_seq, None, f"missing: the next block found is {seq}")
        if block["prev_hash"] != self.prev_block_hash:
            return Break(seq, None, "its link to the previous block does not match (a block was altered or removed)")
        for record in records:
            if record["seq"] != self.expected_record_seq:
                return Break(seq, record["id"], f"record seq {self.expected_record_seq} is missing (deleted)")
            if record["prev_hash"] != self.prev_record_hash:
                return Break(seq, record["id"], "its link to the previous record does not match")
            if record_hash(record["prev_hash"], record) != record["hash"]:
                return Break(seq, record["id"], "its content was modified after it was written")
            self.prev_record_hash = record["hash"]
            self.expected_record_seq += 1
        if len(records) != block["count"]:
            return Break(seq, None, f"holds {len(records)} records but was sealed with {block['count']} (records deleted)")
        digest = records_digest(r["hash"] for r in records)
        if digest != block["records_hash"]:
            return Break(seq, None, "its records do not match the hash it was sealed with")
        if block_hash(block["prev_hash"], seq, block["count"], digest, block["created_at"]) != block["hash"]:
            return Break(seq, None, "its own hash does not match its content")
        self.prev_block_hash = block["hash"]
        self.expected_block_seq += 1
        self.blocks += 1
        self.records += len(records)
        return None

    def finish(self, head: dict[str, Any] | None) -> Break | None:
        if head is None:
            return None if self.blocks == 0 else Break(self.blocks, None, "the chain head is missing")
        if head["seq"] != self.blocks or head["hash"] != self.prev_block_hash:
            return Break(self.blocks + 1 if head["seq"] > self.blocks else head["seq"], None,
                         f"the chain head expects {head['seq']} blocks ending in {head['hash'][:12]}…; "
                         f"found {self.blocks} (the last blocks were altered or removed)")
        return None
