"""check/service.judge scores neighbours straight from lookup rows (no Report, no datetime per aggregate) and
once per call; the numbers must be the ones scoring.base gives for the same aggregates, to the last bit."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from check import scoring, service
from graph.checks import NEIGHBOUR_REPORT
from ingest.categories import BY_CODE

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
NOW_MILLIS = int(NOW.timestamp() * 1000)
YEAR_MILLIS = 400 * 86_400_000

millis = st.integers(min_value=NOW_MILLIS - 3 * YEAR_MILLIS, max_value=NOW_MILLIS + 86_400_000)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def report_rows(draw):
    """One visible aggregate as graph/checks.py answers it (times as epoch milliseconds)."""
    first, seen, confident = sorted(draw(st.lists(millis, min_size=3, max_size=3)))
    return {"member_code": draw(st.sampled_from(["MA", "MB", "MC"])), "named": draw(st.booleans()),
            "reliability": draw(fractions), "tlp": draw(st.sampled_from(["GREEN", "AMBER", "RED"])),
            "category": draw(st.sampled_from(sorted(BY_CODE))), "leads": draw(st.integers(1, 50)),
            "max_confidence": draw(fractions), "max_confidence_at": draw(st.sampled_from([confident, first])),
            "last_confidence": draw(fractions), "last_seen": seen, "first_seen": first, "attributed": False}


def neighbour_rows(key: str):
    """A neighbour as graph/checks.py answers it (its aggregates as NEIGHBOUR_REPORT lists), and its aggregates
    as full rows, for scoring.base to score them the long way."""
    return st.builds(lambda reports: ({"key": key, "reports": [[r[f] for f in NEIGHBOUR_REPORT] for r in reports]}, reports),
                     st.lists(report_rows(), min_size=1, max_size=6))


nows = st.integers(min_value=0, max_value=3 * YEAR_MILLIS).map(lambda ms: NOW + timedelta(milliseconds=ms, microseconds=ms % 997))


@settings(max_examples=400)
@given(neighbour_rows("n1"), nows)
def test_a_neighbours_base_from_rows_is_scoring_base_to_the_last_bit(neighbour, now):
    row, full = neighbour
    reports = [service._report(r, row["key"]) for r in full]
    assert service._neighbour_base(row, now, {}) == scoring.base(reports, now=now)


@settings(max_examples=300)
@given(millis, nows)
def test_age_from_milliseconds_is_the_datetime_age(at, now):
    as_datetime = datetime.fromtimestamp(at / 1000, timezone.utc)
    assert scoring.age_days_since(scoring.micros(now), at) == scoring._age_days(now, as_datetime)
    naive = now.replace(tzinfo=None)  # read as UTC, as _age_days reads it
    assert scoring.age_days_since(scoring.micros(naive), at) == scoring._age_days(naive, as_datetime)


@settings(max_examples=200)
@given(st.lists(report_rows(), min_size=1, max_size=4), neighbour_rows("n1"), neighbour_rows("n2"), nows)
def test_judged_rows_score_as_the_formula_does_with_shared_neighbours(own, n1, n2, now):
    """Two checked keys sharing a neighbour: each verdict is scoring.score of its own aggregates with its
    neighbours' scoring.base, whether the neighbour was scored for this key or for the other one first."""
    named = {"k1": [n1, n2], "k2": [n2]}
    rows = [{"key": key, "known": True, "status": "active", "benign": False, "benign_reason": None, "masked": "1**",
             "reports": own, "neighbours": [row for row, _ in neighbours], "network": None}
            for key, neighbours in named.items()]
    pending = {"k1": [service.Verdict("phone", service.NO_RECORD)], "k2": [service.Verdict("phone", service.NO_RECORD)]}
    service.judge_rows(pending, rows, now)
    for row in rows:
        expected = scoring.score(
            [service._report(r, row["key"]) for r in own], now=now,
            neighbour_scores=[scoring.base([service._report(r, n["key"]) for r in full], now=now)
                              for n, full in named[row["key"]]])
        assert pending[row["key"]][0].score == expected
