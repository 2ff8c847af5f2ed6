"""The hub's side of a private check: a PSI setup of every privately matchable indicator key, kept fresh cheaply.

The setup is a list of immutable segments, each an `openmined.psi` ServerSetup (the indicator keys raised to the
hub's secret exponent, packed in a Golomb-compressed set) served with an ETag so clients cache it. Building costs
one elliptic-curve multiplication per key (~0.4 ms here), so the setup is never rebuilt whole per request:
`refresh` reads the matchable keys, puts new ones in a new segment, rebuilds only the segments that lost a key
(retraction, dispute ruling, benign flag), and merges the newest segments LSM-style (a segment is merged with
the one before it once it is as large), so a client intersects against O(log n) segments.

Every client fetches every segment, so fetching reveals nothing; a request reveals only how many identifiers it
holds (each blinded with the client's own secret). The server key lives in this process only: a restart
gives a new key id and new ETags, and clients re-fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
import private_set_intersection.python as psi
from google.protobuf.message import DecodeError

from core.principal import Principal, Role
from graph import psi as repo
from graph.database import Graph, GraphUnavailable

log = logging.getLogger(__name__)

# The total false-positive probability of one check of MAX_CLIENT_INPUTS identifiers against one segment.
FPR = 1e-6
MAX_CLIENT_INPUTS = 10_000
REFRESH_SECONDS = 30.0  # a full comparison with the graph at least this often (retractions, benign flags)
WATCH_SECONDS = 2.0  # how often the refresher looks for committed batches and disputes of any process

# Built from what a member may match: a member-like principal of no member (never sees RED, never owns a lead).
SETUP_PRINCIPAL = Principal(id="psi:setup", member_code="psi:setup", roles=frozenset({Role.ANALYST}), name="private setup")


class SetupNotReady(Exception):
    """The first setup is still being built (after a start)."""


@dataclass(frozen=True)
class Segment:
    id: str
    keys: frozenset[str] = field(repr=False)
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
    read_seconds: float = 0.0  # of `seconds`: reading the matchable keys from Neo4j


class PrivateSetup:
    """One process's setup: its server key, its segments, and the time of the graph state they reflect."""

    def __init__(self, graph: Graph, *, fpr: float = FPR, max_client_inputs: int = MAX_CLIENT_INPUTS) -> None:
        self.graph = graph
        self.fpr = fpr
        self.max_client_inputs = max_client_inputs
        self.server = psi.server.CreateWithNewKey(True)
        self.key_id = hashlib.sha256(b"fenghuo-psi|" + self.server.GetPrivateKeyBytes()).hexdigest()[:16]
        self.segments: list[Segment] = []
        self.as_of: float | None = None  # when the graph was read for the current segments
        self._serial = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    # -- serving -------------------------------------------------------------------------------------------

    def manifest(self) -> dict:
        """What a client needs to fetch and cache the setup (no key of any indicator)."""
        self._require_ready()
        return {"key_id": self.key_id, "fpr": self.fpr, "max_client_inputs": self.max_client_inputs,
                "as_of": self.as_of, "age_seconds": self.age_seconds(),
                "segments": [{"id": s.id, "etag": s.etag, "size": len(s.keys), "bytes": len(s.message),
                              "built_at": s.built_at} for s in self.segments]}

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
        """The BatchRunner.after_aggregation hook: refresh soon (the refresher loop does the work)."""
        self._wake.set()

    def touched(self) -> None:
        """Ask for a refresh now (a retraction, dispute ruling or benign flag changed what is matchable)."""
        self._wake.set()

    async def keep_fresh(self, ready: asyncio.Event, every: float = REFRESH_SECONDS, watch: float = WATCH_SECONDS) -> None:
        """Refresh after each batch this process aggregates, when the graph's watermark moves (batches committed
        or disputes opened or ruled by any process), and at least every `every` seconds; once migrations ran."""
        await ready.wait()
        mark, last = None, 0.0
        while True:
            try:
                seen = await repo.watermark(self.graph)
                if self._wake.is_set() or seen != mark or time.monotonic() - last >= every:
                    self._wake.clear()
                    mark, last = seen, time.monotonic()
                    report = await self.refresh()
                    if report.rebuilt_keys:
                        log.info("private-check setup refreshed: +%d -%d keys, %d encrypted in %.1fs, %d segments",
                                 report.added, report.removed, report.rebuilt_keys, report.seconds, report.segments)
            except GraphUnavailable:
                log.warning("Neo4j unavailable; the private-check setup refreshes later")
            except Exception as error:  # keep serving the last setup; its age says how stale it is
                log.error("private-check setup refresh failed (%s); retrying", type(error).__name__)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=watch)
            except TimeoutError:
                pass

    async def refresh(self) -> RefreshReport:
        """Bring the segments in line with the graph, encrypting only new keys and segments that lost keys."""
        async with self._lock:
            started, as_of = time.perf_counter(), time.time()
            current = set(await repo.matchable_keys(self.graph, SETUP_PRINCIPAL))
            read_seconds = time.perf_counter() - started
            indexed = set().union(*(s.keys for s in self.segments)) if self.segments else set()
            added, removed = current - indexed, indexed - current
            plan = _plan(self.segments, added, removed)
            rebuilt = 0
            if plan is not None:
                segments, pending = plan
                built = {}
                for index, keys in pending.items():
                    built[index] = await asyncio.to_thread(self._build, keys)
                    rebuilt += len(keys)
                fresh = [built[i] if i in built else segment for i, segment in enumerate(segments)]
                self.segments = [segment for segment in fresh if segment is not None]
            self.as_of = as_of
            return RefreshReport(len(added), len(removed), rebuilt, round(time.perf_counter() - started, 3),
                                 len(self.segments), round(read_seconds, 3))

    async def rebuild(self) -> RefreshReport:
        """A full rebuild (every key encrypted again): the benchmark's baseline; never needed in service."""
        async with self._lock:
            self.segments = []
        return await self.refresh()

    def _build(self, keys: frozenset[str]) -> Segment | None:
        if not keys:
            return None
        started = time.perf_counter()
        message = self.server.CreateSetupMessage(self.fpr, self.max_client_inputs, sorted(keys), psi.DataStructure.GCS)
        self._serial += 1
        return Segment(f"{self.key_id[:8]}-{self._serial}", frozenset(keys), message.SerializeToString(), time.time(),
                       round(time.perf_counter() - started, 3))


def _plan(segments: list[Segment], added: set[str], removed: set[str]) -> tuple[list, dict[int, frozenset[str]]] | None:
    """The new segment list (old Segments kept, or placeholders) and the key sets to build, or None if unchanged.

    Segments that lost keys are rebuilt without them; the added keys form a new last segment, merged into the
    one before it while it is at least as large (so sizes halve along the list: O(log n) segments)."""
    if not added and not removed:
        return None
    slots: list[Segment | frozenset[str]] = [s.keys - removed if s.keys & removed else s for s in segments]
    if added:
        slots.append(frozenset(added))
        while len(slots) >= 2 and _size(slots[-1]) >= _size(slots[-2]):
            last = slots.pop()
            slots[-1] = _keys(slots[-1]) | _keys(last)
    ordered = [s for s in slots if not (isinstance(s, frozenset) and not s)]
    pending = {i: s for i, s in enumerate(ordered) if isinstance(s, frozenset)}
    return ordered, pending


def _size(slot: Segment | frozenset[str]) -> int:
    return len(slot.keys) if isinstance(slot, Segment) else len(slot)


def _keys(slot: Segment | frozenset[str]) -> frozenset[str]:
    return slot.keys if isinstance(slot, Segment) else slot
