"""Keys as records (psi/keyset.py) and the segment plan over them (psi/setup._plan): no Neo4j needed."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest.identifiers.result import IdentifierType
from psi import keyset
from psi.setup import Segment, _plan

REPO = Path(__file__).resolve().parents[2]
TYPES = [t.value for t in IdentifierType]
digests = st.binary(min_size=32, max_size=32).map(bytes.hex)  # trailing and leading zero bytes included
keys = st.builds(lambda type, digest: f"{type}:{digest}", st.sampled_from(TYPES), digests)


@given(st.lists(keys, max_size=60))
@example([f"phone:{0:064x}", f"phone:{1:064x}", f"qq:{0:064x}"])  # all-NUL records: item access would strip them
def test_records_decode_to_the_keys_they_were_made_from(values: list[str]) -> None:
    records, odd = keyset.encode(values)
    assert odd == 0 and records.dtype == keyset.RECORD
    assert keyset.decode(records) == values


@given(st.lists(keys, max_size=60), st.lists(keys, max_size=60))
def test_set_operations_agree_with_python_sets(a: list[str], b: list[str]) -> None:
    sa, sb = (keyset.as_set(keyset.encode(v)[0]) for v in (a, b))
    assert len(sa) == len(set(a)) and list(sa) == sorted(sa)  # sorted, each record once
    assert set(keyset.decode(keyset.minus(sa, sb))) == set(a) - set(b)
    assert set(keyset.decode(keyset.intersect(sa, sb))) == set(a) & set(b)
    assert keyset.contains(sa, keyset.encode(b)[0]).tolist() == [key in set(a) for key in b]


@given(st.lists(keys, max_size=60), st.lists(keys, max_size=60))
def test_a_difference_taken_in_place_is_the_same_set_in_the_array_itself(a: list[str], b: list[str]) -> None:
    sa, sb = (keyset.as_set(keyset.encode(v)[0]) for v in (a, b))
    expected = keyset.minus(sa, sb)
    assert keyset.decode(sa) == sorted(set(a))  # taken out of a copy: the set itself unchanged
    given_away = sa.copy()
    taken = keyset.minus(given_away, sb, in_place=True)
    assert taken is given_away and np.array_equal(taken, expected)


@given(st.lists(st.booleans(), max_size=200), st.integers(1, 9))
def test_keeping_records_moves_them_to_the_front_of_the_array_in_their_order(mask: list[bool], chunk: int) -> None:
    records = _records(len(mask), 11) if mask else keyset.EMPTY.copy()
    np.random.default_rng(len(mask)).shuffle(records)
    marked = np.array(mask, bool)
    expected = records[marked]
    owned = records.copy()
    kept = keyset.keep(owned, marked, chunk=chunk)
    assert np.array_equal(kept, expected) and (kept is owned or marked.all())
    # an array that does not own its buffer (a view) is left as it was: the kept records come as a new array
    view = records[:]
    assert np.array_equal(keyset.keep(view, marked, chunk=chunk), expected) and np.array_equal(view, records)


@given(st.lists(keys, max_size=60))
@example([f"qq:{0:064x}", f"phone:{255:064x}", f"phone:{16:064x}", f"ip:{1:064x}", f"id_number:{1:064x}"])
def test_records_sort_as_their_keys_do(values: list[str]) -> None:
    """Keys read in key order (the setup's pages) are records in order already."""
    records, _ = keyset.encode(sorted(values))
    assert list(records) == sorted(records) and keyset.decode(keyset.as_set(keyset.encode(values)[0])) == sorted(set(values))


def test_a_key_not_of_the_indicator_form_is_left_out_and_counted() -> None:
    good = "phone:" + "ab" * 32
    odd = ["phone:" + "AB" * 32, "phone:" + "ab" * 31, "phone:" + "ab " * 32, "planet:" + "ab" * 32, "ab" * 32, ""]
    records, skipped = keyset.encode([good, *odd, good])
    assert skipped == len(odd) and keyset.decode(records) == [good, good]


def _segments(slots, keys, labels) -> list[Segment]:
    built = []
    for slot in slots:
        if isinstance(slot, int):
            slot = Segment(f"s-{slot}", slot, int(np.count_nonzero(labels == slot)), b"", 0.0, 0.0)
        built.append(slot)
    return built


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(keys, max_size=25), st.lists(st.integers(0, 200), max_size=8)), min_size=1, max_size=8),
       st.integers(1, 12))
def test_the_plan_keeps_every_key_in_exactly_one_segment_of_at_most_the_cap(steps, cap: int) -> None:
    """Random adds and removals: the segments hold exactly the expected keys, none more than `cap`, and a segment
    that lost no key and took none is the same object (not re-encrypted)."""
    serials = itertools.count(1)
    segments: list[Segment] = []
    held, labels = keyset.EMPTY, np.empty(0, np.uint32)
    expected: set[str] = set()
    for new, drops in steps:
        current = sorted(expected)
        gone = {current[i % len(current)] for i in drops} if current else set()
        fresh = set(new) - expected
        added = keyset.as_set(keyset.encode(sorted(fresh))[0])
        removed = keyset.as_set(keyset.encode(sorted(gone))[0])
        plan = _plan(segments, held, labels, added, removed, cap, serials)
        expected = (expected - gone) | fresh
        if plan is None:
            assert not fresh and not gone
            continue
        slots, held, labels = plan
        before = {s.serial: s for s in segments}
        segments = _segments(slots, held, labels)
        assert set(keyset.decode(held)) == expected and len(held) == len(expected)
        assert list(held) == sorted(held)
        assert sorted(labels.tolist()) == sorted(s.serial for s in segments for _ in range(s.size))
        assert all(0 < s.size <= cap for s in segments)
        for s in segments:
            if s.serial in before:  # kept: still holds exactly what it held
                assert s is before[s.serial]


def _records(count: int, seed: int) -> np.ndarray:
    """`count` distinct random records (a random type byte and digest each), unsorted."""
    raw = np.random.default_rng(seed).integers(0, 256, size=(count, 33), dtype=np.uint8)
    raw[:, 0] %= len(TYPES)
    return keyset.as_set(np.frombuffer(raw.tobytes(), keyset.RECORD))


def _peak_bytes(setup: str, step: str, check: str) -> int:
    """The most bytes `step` (an expression) held at once beyond what `setup` left, measured by tracemalloc (numpy
    reports its arrays' buffers to it) in a fresh interpreter: tracemalloc counts every thread of a process, and in
    the test session other tests' threads allocate beside the step. `check` runs after, on `result`."""
    script = "\n".join([textwrap.dedent(setup), "import tracemalloc", "tracemalloc.start()",
                        "before = tracemalloc.get_traced_memory()[0]", "tracemalloc.reset_peak()", f"result = {step}",
                        "peak = tracemalloc.get_traced_memory()[1] - before", "tracemalloc.stop()",
                        textwrap.dedent(check), "print(peak)"])
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return int(done.stdout.split()[-1])


def test_a_lookup_holds_positions_and_records_for_one_chunk_not_for_all() -> None:
    peak = _peak_bytes("""
        import numpy as np
        from psi import keyset
        raw = np.random.default_rng(1).integers(0, 256, size=(80_000, 33), dtype=np.uint8)
        everything = keyset.as_set(np.frombuffer(raw.tobytes(), keyset.RECORD))
        members, records = everything[:40_000].copy(), everything[40_000:].copy()
        records[::2] = members[::2]
        """, "keyset.contains(members, records, chunk=1000)", """
        assert result.sum() == 20_000 and result[::2].all() and not result[1::2].any()
        """)
    # the answer (a byte a record) and one chunk's positions and records (8 + 33 bytes each); all at once were 41 x 40k
    assert peak <= 40_000 + 1000 * 41 + 16_384, peak


def test_pages_are_joined_into_one_set_without_a_second_copy_of_the_keys() -> None:
    """At 1M ingested rows the setup reads 1.94 M keys (64 MB as records) in pages; joining them at the end held
    the pages and the joined array together, twice the keys (1.98 MB here)."""
    peak = _peak_bytes("""
        from psi import keyset
        from psi.setup import _Records
        pages = _Records()
        numbers = [f"phone:{index:064x}" for index in range(60_000)]
        for start in range(0, len(numbers), 5_000):
            pages.add(reversed(numbers[start:start + 5_000]))
        """, "pages.as_set()", """
        assert keyset.decode(result) == numbers
        """)
    # sorted where the pages were written: beyond the keys, a byte a key for the dedupe
    assert peak <= 60_000 + 65_536, peak


def test_a_difference_that_removes_nothing_is_the_set_itself() -> None:
    a, b = _records(5_000, 3), _records(5_000, 4)
    assert keyset.minus(a, b) is a and keyset.minus(a, keyset.EMPTY) is a
    assert len(keyset.minus(a, a)) == 0


def test_the_first_plan_takes_the_added_set_as_the_key_array() -> None:
    added = _records(1_000, 5)
    slots, keys, labels = _plan([], keyset.EMPTY, np.empty(0, np.uint32), added, keyset.EMPTY, 400, itertools.count(1))
    assert keys is added and len(labels) == len(added) and len(slots) >= 3  # no second copy of a 64 MB array at 1M rows


def test_merging_into_a_set_gives_the_sorted_union_and_where_the_other_went() -> None:
    everything = _records(10_000, 6)
    chosen = np.random.default_rng(7).random(len(everything)) < 0.3
    grown, other = everything[~chosen].copy(), everything[chosen].copy()

    at = keyset.merge_into(grown, other, chunk=777)

    assert np.array_equal(grown, everything)
    assert np.array_equal(grown[at], other)
    assert keyset.grows_in_place(grown) and not keyset.grows_in_place(grown[:10])


def test_a_large_batch_takes_the_held_keys_into_its_own_array_without_a_second_copy() -> None:
    """After a 1M-row batch the catch-up's added set (64 MB) went into a new array made beside it, with position
    arrays of the same length: the plan's peak was over twice the keys. Now the held keys are merged into the added
    array. Measured as the process's peak RSS (Linux: VmHWM, reset before the step) in a fresh interpreter:
    tracemalloc counts a realloc as the old and the new block at once. 1.2 M added records (40 MB) into 200,000."""
    script = textwrap.dedent("""
        import itertools
        import numpy as np
        from core.memory import release_free_memory
        from psi import keyset
        from psi.setup import _plan

        def status(field):
            return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field))

        raw = np.random.default_rng(8).integers(0, 256, size=(1_400_000, 33), dtype=np.uint8)
        everything = keyset.as_set(np.frombuffer(raw.tobytes(), keyset.RECORD))
        del raw
        held, added = everything[::7].copy(), np.delete(everything, np.s_[::7])
        labels = np.full(len(held), 1, np.uint32)
        release_free_memory()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        slots, keys, new_labels = _plan([], held, labels, added, keyset.EMPTY, 65_536, itertools.count(2))
        peak = status("VmHWM:") - before
        assert keys is added and np.array_equal(keys, everything)
        assert (new_labels[::7] == 1).all() and not (np.delete(new_labels, np.s_[::7]) == 1).any()
        print(peak, everything.nbytes)
        """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    peak, records = map(int, done.stdout.split()[-2:])
    # merged in the added array: 1.06x the records here; a new array beside it (np.insert) peaked at 2.17x
    assert peak <= 1.5 * records, (peak, records)


def test_a_large_batchs_read_becomes_its_added_set_in_the_read_array_itself() -> None:
    """After a 1M-row batch the catch-up read 2.03 M keys (67 MB of records, some twice) and made its added set from
    them: the stable sort's buffer (half the records), the set without repeats and the set without the held keys
    (each a new array) were +164 MB of the API process over its level before (bench/RUNS.md). Now the read array is
    sorted in place, its repeats and held keys taken out of it in place. Peak RSS (VmHWM, reset before the step) in a
    fresh interpreter: 1.2 M records read, 100,000 of them twice, against 200,000 held."""
    script = textwrap.dedent("""
        import numpy as np
        from core.memory import release_free_memory
        from psi import keyset

        def status(field):
            return next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith(field))

        rng = np.random.default_rng(9)
        raw = rng.integers(0, 256, size=(1_300_000, 33), dtype=np.uint8)
        everything = keyset.as_set(np.frombuffer(raw.tobytes(), keyset.RECORD))
        del raw
        held = everything[::7].copy()
        read = np.concatenate([everything[:1_100_000], everything[rng.integers(0, 1_100_000, 100_000)]])
        rng.shuffle(read)
        expected = keyset.minus(everything[:1_100_000], held)
        del everything
        release_free_memory()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status("VmRSS:")
        added = keyset.minus(keyset.as_set(read, in_place=True), held, in_place=True)
        peak = status("VmHWM:") - before
        assert added is read and np.array_equal(added, expected)
        print(peak, expected.nbytes)
        """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    peak, records = map(int, done.stdout.split()[-2:])
    # the masks (a byte a record each) and a chunk: 0.23x the added records here; the old steps peaked at 2.74x
    assert peak <= 0.5 * records, (peak, records)
