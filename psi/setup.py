"""The hub's side of a private check: a PSI setup of every privately matchable indicator key, kept fresh cheaply.

The setup is a list of immutable segments, each an `openmined.psi` ServerSetup (the indicator keys raised to the
hub's secret exponent, packed in a Golomb-compressed set) served with an ETag so clients cache it. Building costs
one elliptic-curve multiplication per key (~0.1-0.4 ms here), so the setup is never rebuilt whole per request:
- `catch_up` reads the matchability-change feed (graph/matchability.py: batches aggregated, retractions, dispute
  rulings, benign flags, purges, from any process), re-reads only the indicators those changes name, puts new
  keys in a new segment and rebuilds only the segments that lost a key; the refresher runs it every
  `WATCH_SECONDS` and at once after a batch this process aggregates;
- `refresh` compares the whole matchable set with the segments: the first build, and a safety net every
  `FULL_SECONDS` (a change whose feed entry was lost, e.g. a process that died between its write and the entry);
- new segments merge LSM-style (with the one before while it is no larger) up to `MAX_SEGMENT_KEYS`, so a
  client intersects against few segments (each costs it ~0.1-0.2 s per 1,000 identifiers) and a removed key
  re-encrypts only the one segment (of at most that size) that held it.

Every client fetches every segment, so fetching reveals nothing; a request reveals only how many identifiers it
holds (each blinded with the client's own secret). The server key lives in this process only: a restart
gives a new key id and new ETags, and clients re-fetch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import itertools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import private_set_intersection.python as psi
from google.protobuf.message import DecodeError

from core.children import background
from core.memory import release_free_memory
from core.principal import Principal, Role
from graph import matchability as feed
from graph import psi as repo
from graph.database import Graph, GraphUnavailable
from psi import keyset

log = logging.getLogger(__name__)

# The total false-positive probability of one check of MAX_CLIENT_INPUTS identifiers against one segment.
FPR = 1e-6
MAX_CLIENT_INPUTS = 10_000
MAX_SEGMENT_KEYS = 65_536  # a removed key re-encrypts its segment: at most this many keys (~7-22 s here)
WATCH_SECONDS = 1.0  # how often the refresher reads the change feed (and at once after a batch of this process)
FULL_SECONDS = 1800.0  # the safety net: a full comparison this often (it reads every key); below feed.KEEP_MS
FEED_SLACK_MS = 30_000  # the feed is re-read this far back, so an entry committed late is not skipped
TRIM_AFTER_KEYS = 100_000  # a refresh that read this many keys gives the memory it freed back (core/memory.py)

# New keys are encrypted on a thread of their own at a lower CPU priority (core/children.background): a 50k-row batch
# brings ~100,000 (tens of seconds of a core), and at the API's priority that thread held the CPU while the event
# loop, holding the GIL, waited its turn: checks through the API waited 0.2-0.3 s at a time while the batch's keys
# were encrypted on a loaded 2-core machine (per-thread scheduler figures, bench/RUNS.md, 7 Dec 2026 evening).
_ENCRYPTING = concurrent.futures.ThreadPoolExecutor(1, "psi-encrypt", initializer=background)

# Built from what a member may match: a member-like principal of no member (never sees RED, never owns a lead).
SETUP_PRINCIPAL = Principal(id="psi:setup", member_code="psi:setup", roles=frozenset({Role.ANALYST}), name="private setup")


class SetupNotReady(Exception):
    """The first setup is still being built (after a start)."""


# The keys live in one sorted array of 33-byte records (psi/keyset.py), each with the serial of the segment that
# holds it in a parallel array: ~37 bytes a key, where a str in a dict per set cost ~180 (~350 MB of the API process
# at 1M ingested rows). Neither array is walked by Python's cyclic GC (sets of ~2M strings made each full
# collection ~0.4 s of the API's event loop).


@dataclass(frozen=True)
class Segment:
    id: str
    serial: int  # the label of its keys in PrivateSetup's arrays
    size: int  # how many keys it holds
    message: bytes = field(repr=False)  # a serialized psi ServerSetup
    built_at: float
    build_seconds: float

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.message).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class RefreshReport:
    added: int
    removed: int
    rebuilt_keys: int  # keys encrypted by this refresh (the cost)
    seconds: float
    segments: int
    read_seconds: float = 0.0  # of `seconds`: reading the feed and the changed (or, in full, all) keys from Neo4j
    read_keys: int = 0  # indicators read from Neo4j (all matchable ones for a full comparison)
    changes: int = 0  # feed entries read and applied (0 for a full comparison)


class PrivateSetup:
    """One process's setup: its server key, its segments, and the time of the graph state they reflect."""

    def __init__(self, graph: Graph, *, fpr: float = FPR, max_client_inputs: int = MAX_CLIENT_INPUTS,
                 max_segment_keys: int = MAX_SEGMENT_KEYS) -> None:
        self.graph = graph
        self.fpr = fpr
        self.max_client_inputs = max_client_inputs
        self.max_segment_keys = max_segment_keys
        self.server = psi.server.CreateWithNewKey(True)
        self.key_id = hashlib.sha256(b"fenghuo-psi|" + self.server.GetPrivateKeyBytes()).hexdigest()[:16]
        self.segments: list[Segment] = []
        self.as_of: float | None = None  # when the graph (or the change feed) was last read for the segments
        self._keys = keyset.EMPTY  # every key in a segment: a set of records (psi/keyset.py)
        self._labels = np.empty(0, np.uint32)  # for each of `_keys`, the serial of the segment holding it
        self._cursor_ms: int | None = None  # the feed is read from here (Neo4j's clock), less FEED_SLACK_MS
        self._applied: dict[str, int] = {}  # feed entries already applied, by id (their `at`), within the slack
        self._serials = itertools.count(1)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    # -- serving -------------------------------------------------------------------------------------------

    def manifest(self) -> dict:
        """What a client needs to fetch and cache the setup (no key of any indicator)."""
        self._require_ready()
        return {"key_id": self.key_id, "fpr": self.fpr, "max_client_inputs": self.max_client_inputs,
                "as_of": self.as_of, "age_seconds": self.age_seconds(),
                "segments": [{"id": s.id, "etag": s.etag, "size": s.size, "bytes": len(s.message),
                              "built_at": s.built_at} for s in self.segments]}

    def keys(self) -> frozenset[str]:
        """Every key the segments hold (for tests and the benchmark's false-positive count)."""
        return frozenset(keyset.decode(self._keys))

    def segment(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def answer(self, request: bytes) -> tuple[bytes, int]:
        """Blind the client's blinded identifiers with the hub's key: the hub sees only how many there are.
        Returns the serialized response and that count; ValueError says why a request is refused."""
        self._require_ready()
        parsed = psi.Request()
        try:
            parsed.ParseFromString(request)
        except DecodeError:
            raise ValueError("the body is not a serialized PSI request (see psi/client.py)") from None
        asked = len(parsed.encrypted_elements)
        if asked > self.max_client_inputs:
            raise ValueError(f"a private check accepts at most {self.max_client_inputs} identifiers per call "
                             f"(got {asked}); split the call")
        try:
            return self.server.ProcessRequest(parsed).SerializeToString(), asked
        except RuntimeError as error:  # a point not on the curve, a wrong reveal flag
            raise ValueError(f"the PSI request was refused: {error}") from None

    def age_seconds(self) -> float | None:
        return None if self.as_of is None else round(time.time() - self.as_of, 1)

    def _require_ready(self) -> None:
        if self.as_of is None:
            raise SetupNotReady("the private-check setup is being built; retry shortly")

    # -- refreshing ----------------------------------------------------------------------------------------

    async def after_batch(self, graph: Graph, batch_id: str) -> None:
        """The BatchRunner.after_aggregation hook: catch up now (the batch's feed entry is written; the refresher
        reads it and re-reads that batch's indicators only)."""
        self._wake.set()

    async def keep_fresh(self, ready: asyncio.Event, every: float = FULL_SECONDS, watch: float = WATCH_SECONDS) -> None:
        """Once migrations ran: build, then catch up with the change feed every `watch` seconds (at once when
        woken) and compare in full every `every` seconds."""
        await ready.wait()
        last_full: float | None = None
        while True:
            self._wake.clear()
            try:
                full = last_full is None or time.monotonic() - last_full >= every
                report = await (self.refresh() if full else self.catch_up())
                if full:
                    last_full = time.monotonic()
                    await feed.prune(self.graph, await feed.now_ms(self.graph) - feed.KEEP_MS)
                if report.rebuilt_keys or report.removed:
                    log.info("private-check setup %s: +%d -%d keys, %d encrypted in %.1fs, %d segments",
                             "rebuilt" if full else "caught up", report.added, report.removed, report.rebuilt_keys,
                             report.seconds, report.segments)
            except GraphUnavailable:
                log.warning("Neo4j unavailable; the private-check setup refreshes later")
            except Exception as error:  # keep serving the last setup; its age says how stale it is
                log.error("private-check setup refresh failed (%s); retrying", type(error).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=watch)
            except TimeoutError:
                pass

    async def refresh(self) -> RefreshReport:
        """Compare the whole matchable set with the segments: encrypt new keys, rebuild segments that lost keys."""
        async with self._lock:
            started, as_of = time.perf_counter(), time.time()
            # Entries visible now record changes committed before the keys are read: the read reflects them.
            cursor, seen = await feed.changes_since(self.graph, None, FEED_SLACK_MS, keys=False)
            pages = _Records()
            async for keys in repo.matchable_key_pages(self.graph, SETUP_PRINCIPAL):
                await asyncio.to_thread(pages.add, keys)
            current = await asyncio.to_thread(pages.as_set)
            read = time.perf_counter() - started
            held, matchable = self._keys, len(current)
            difference = _Difference(*await asyncio.to_thread(
                lambda: (keyset.minus(current, held), keyset.minus(held, current))), read_keys=matchable)
            del current, pages, held  # only `added` (often the same array) and `removed` go on
            report = await self._apply(difference, started, read)
            self._advance(seen, max(self._cursor_ms or cursor, cursor))
            self.as_of = as_of
            return report

    async def catch_up(self) -> RefreshReport:
        """Apply the change feed since the last read: re-read only the indicators its entries name."""
        if self._cursor_ms is None:
            return await self.refresh()
        async with self._lock:
            started, as_of = time.perf_counter(), time.time()
            # The cursor moves to Neo4j's clock at this read, not to the newest entry's time, and the entries applied
            # before are not sent again. Otherwise the last change's entries (after retention on the 1M-row graph,
            # ~100 of 5,000 keys each) came back every second with their keys: until another change or the prune (one
            # to one and a half hours; a tenth of the API's core and more of Neo4j's, bench/RUNS.md, run AC), and
            # then for the slack's 30 s after each change.
            now, entries = await feed.changes_since(self.graph, self._cursor_ms, FEED_SLACK_MS, skip=self._applied)
            difference = await self._changed(entries)
            report = await self._apply(difference, started, time.perf_counter() - started, changes=len(entries))
            self._advance(entries, max([self._cursor_ms, now, *(entry["at"] for entry in entries)]))
            self.as_of = as_of
            return report

    def _advance(self, applied: list[dict], cursor: int) -> None:
        """Remember the entries applied (re-read within the slack, they are skipped) and move the cursor."""
        self._applied.update((entry["id"], entry["at"]) for entry in applied)
        self._cursor_ms = cursor
        horizon = cursor - 2 * FEED_SLACK_MS
        self._applied = {id: at for id, at in self._applied.items() if at >= horizon}

    async def rebuild(self) -> RefreshReport:
        """A full rebuild (every key encrypted again): the benchmark's baseline; never needed in service."""
        async with self._lock:
            self.segments, self._keys, self._labels = [], keyset.EMPTY, np.empty(0, np.uint32)
        return await self.refresh()

    async def _changed(self, entries: list[dict]) -> _Difference:
        """The keys the entries name (a batch's through its leads) that are privately matchable now and not held
        (to add), those held that are not (to remove), and how many keys were read. A key read twice with two
        answers counts as not matchable: the change that flipped it has its own feed entry, applied at a later
        catch-up. Only the two differences outlive this: what was read is freed before any segment is built."""
        matchable, unmatchable = _Records(), _Records()

        def take(split: repo.Split) -> None:
            matchable.add(split.matchable)
            unmatchable.add(split.unmatchable)

        for entry in entries:
            if entry["batch_id"]:
                async for split in repo.batch_matchability(self.graph, SETUP_PRINCIPAL, entry["batch_id"]):
                    await asyncio.to_thread(take, split)
        if len(matchable) + len(unmatchable) >= TRIM_AFTER_KEYS:  # the pages' strings, the array's old places
            await asyncio.to_thread(release_free_memory)
        named = _Records()
        named.add(key for entry in entries for key in entry["keys"])

        def unread() -> list[str]:
            if not len(named.as_set()):  # a batch's entry alone: its read is sorted once, below
                return []
            return keyset.decode(keyset.minus(keyset.minus(named.as_set(), matchable.as_set()), unmatchable.as_set()))

        if keys := await asyncio.to_thread(unread):
            async for split in repo.keys_matchability(self.graph, SETUP_PRINCIPAL, keys):
                await asyncio.to_thread(take, split)

        def difference() -> _Difference:
            no = unmatchable.as_set()
            # What was read is taken out of in place: the read's array becomes the added set (bench/RUNS.md).
            yes = keyset.minus(matchable.as_set(), no, in_place=True)
            read = len(yes) + len(no)
            return _Difference(keyset.minus(yes, self._keys, in_place=True), keyset.intersect(no, self._keys), read)

        return await asyncio.to_thread(difference)

    async def _apply(self, difference: _Difference, started: float, read: float, changes: int = 0) -> RefreshReport:
        """Encrypt the segments `_plan` says change; swap them in with the new key arrays at once. The difference's
        arrays are taken from it and dropped once planned: the new key array holds the added keys, and a copy kept
        beside it would stay for the whole encryption (64 MB for minutes after a 1M-row batch)."""
        added, removed = difference.added, difference.removed
        difference.added = difference.removed = keyset.EMPTY
        counts = len(added), len(removed)
        if difference.read_keys >= TRIM_AFTER_KEYS:  # what the read freed goes back before the encryption starts
            await asyncio.to_thread(release_free_memory)
        plan = await asyncio.to_thread(_plan, self.segments, self._keys, self._labels, added, removed,
                                       self.max_segment_keys, self._serials)
        del added, removed
        rebuilt = 0
        if plan is not None:
            slots, keys, labels = plan
            del plan
            segments = []
            for slot in slots:
                if isinstance(slot, int):  # to build: its keys are those labelled with its serial
                    records = keys[labels == slot]
                    slot = await asyncio.get_running_loop().run_in_executor(_ENCRYPTING, self._build, slot, records)
                    rebuilt += slot.size
                segments.append(slot)
            self.segments, self._keys, self._labels = segments, keys, labels
            del keys, labels
        if difference.read_keys >= TRIM_AFTER_KEYS:  # and what the encryption and the old arrays freed, after it
            await asyncio.to_thread(release_free_memory)
        return RefreshReport(*counts, rebuilt, round(time.perf_counter() - started, 3), len(self.segments),
                             round(read, 3), difference.read_keys, changes)

    def _build(self, serial: int, records: np.ndarray) -> Segment:
        started = time.perf_counter()
        message = self.server.CreateSetupMessage(self.fpr, self.max_client_inputs, keyset.decode(records),
                                                 psi.DataStructure.GCS)
        return Segment(f"{self.key_id[:8]}-{serial}", serial, len(records), message.SerializeToString(),
                       time.time(), round(time.perf_counter() - started, 3))


@dataclass
class _Difference:
    """What a refresh found: keys to add (a set of records none held), keys to remove (a set of held records), and
    how many keys it read from Neo4j."""
    added: np.ndarray
    removed: np.ndarray
    read_keys: int


class _Records:
    """Keys read a page at a time, kept as records (the pages' strings are dropped as they arrive). The setup
    encodes and sorts them off the event loop (~2.5 µs a key: ~0.1 s a page of 50,000), so the checks it serves
    are not held while a full refresh or a large batch's catch-up reads 1.94 M keys.

    The records go into one array of its own, grown page by page (`resize`), and `as_set` sorts that array and
    drops its repeats in place: the keys are held once. Pages kept apart and joined at the end held them twice at
    the join (+64 MB at 1M ingested rows). The set it gives owns its buffer, so a catch-up takes the keys it already
    held out of it in place (`keyset.minus`), and the setup can grow it again to take the keys it held (`_plan`).
    A 1M-row batch's catch-up peaked at +164 MB over the API's level before it, with a new array for each step;
    +122 MB in place, where the read itself is the peak (bench/RUNS.md)."""

    def __init__(self) -> None:
        self.done = keyset.EMPTY  # the set of the records added before the last `as_set`
        self.fresh = np.empty(0, keyset.RECORD)  # records added since, in arrival order

    def add(self, keys: Iterable[str]) -> None:
        records, odd = keyset.encode(keys)
        if odd:  # nothing writes such a key (ingest/pseudonym.indicator_key); never logged itself
            log.warning("%d indicator keys not of the key form left out of the private-check setup", odd)
        if len(records):
            start = len(self.fresh)
            self.fresh.resize(start + len(records), refcheck=False)
            self.fresh[start:] = records

    def __len__(self) -> int:
        return len(self.done) + len(self.fresh)

    def as_set(self) -> np.ndarray:
        if len(self.fresh):
            fresh, self.fresh = self.fresh, np.empty(0, keyset.RECORD)
            if len(self.done):  # a catch-up's small sets, read again after more keys came
                fresh = np.concatenate([self.done, fresh])
            self.done = keyset.as_set(fresh, in_place=True)
        return self.done


def _plan(segments: list[Segment], keys: np.ndarray, labels: np.ndarray, added: np.ndarray, removed: np.ndarray,
          cap: int, serials: Iterable[int]) -> tuple[list[Segment | int], np.ndarray, np.ndarray] | None:
    """The new segment list (old Segments kept, or the serials of segments to build) and the new key and label
    arrays, or None if unchanged. `added`: a set of records none of `keys`, the caller's to give away (when larger
    than `keys` and its own buffer, the new key array is `added` grown: keyset.merge_into); `removed`: a set of
    records of `keys`.

    Segments that lost keys are rebuilt without them (under a new serial); the added keys form new last segments
    of at most `cap` keys, each merged into the one before it while that is no larger and the sum fits `cap` (so
    sizes halve along the list's tail: few segments, none larger than `cap`)."""
    if not len(added) and not len(removed):
        return None
    serials = iter(serials)
    if len(removed):
        gone = keyset.contains(removed, keys)
        touched = set(np.unique(labels[gone]).tolist())
        keys, labels = keys[~gone], labels[~gone]  # copies: the setup's arrays stay as they are until the swap
    else:
        touched, labels = set(), labels.copy()
    slots: list[list] = []  # [serial, size, the Segment if unchanged]
    for segment in segments:
        if segment.serial in touched:
            serial = next(serials)
            held = labels == segment.serial
            labels[held] = serial
            slots.append([serial, int(np.count_nonzero(held)), None])
        else:
            slots.append([segment.serial, segment.size, segment])
    fresh = np.empty(len(added), np.uint32)
    for start in range(0, len(added), cap):
        part = slice(start, start + cap)
        fresh[part] = serial = next(serials)
        slots.append([serial, len(fresh[part]), None])
        while len(slots) >= 2 and slots[-2][1] <= slots[-1][1] and slots[-2][1] + slots[-1][1] <= cap:
            before, last = slots[-2], slots.pop()
            merged = next(serials)
            for array in (labels, fresh):
                array[(array == before[0]) | (array == last[0])] = merged
            slots[-1] = [merged, before[1] + last[1], None]
    if len(added) and not len(keys):  # the first build: the added set is the new key array (no second copy)
        keys, labels = added, fresh
    elif len(added) >= len(keys) and keyset.grows_in_place(added):  # a large batch: the held keys go into `added`
        old = keyset.merge_into(added, keys)
        merged = np.empty(len(added), np.uint32)
        is_old = np.zeros(len(added), bool)
        is_old[old] = True
        merged[old], merged[~is_old] = labels, fresh
        keys, labels = added, merged
    elif len(added):
        at = np.searchsorted(keys, added)
        keys, labels = np.insert(keys, at, added), np.insert(labels, at, fresh)
    return [slot[2] or slot[0] for slot in slots if slot[1]], keys, labels
