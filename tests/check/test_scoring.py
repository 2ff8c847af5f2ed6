from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from check.scoring import (
    BOOST_CAP,
    DECAY_SPEED,
    LEVEL_THRESHOLDS,
    Report,
    base,
    decay,
    level_of,
    neighbour_boost,
    score,
)
from ingest.categories import BY_CODE

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def report(
    member: str | None = "M1",
    category: str = "MONEY_MULE",
    confidence: float = 0.9,
    days_ago: float = 0.0,
    *,
    leads: int = 1,
    reliability: float = 1.0,
    last_confidence: float | None = None,
    last_days_ago: float | None = None,
    member_ref: str | None = None,
    tlp: str = "AMBER",
) -> Report:
    """One aggregate whose most confident lead and latest lead coincide unless told otherwise."""
    at = NOW - timedelta(days=days_ago)
    last_at = at if last_days_ago is None else NOW - timedelta(days=last_days_ago)
    return Report(
        member_code=member,
        category=category,
        tlp=tlp,
        leads=leads,
        max_confidence=confidence,
        max_confidence_at=at,
        last_confidence=confidence if last_confidence is None else last_confidence,
        last_seen=max(at, last_at),
        first_seen=min(at, last_at),
        reliability=reliability,
        member_ref=member_ref,
    )


# --- decay -------------------------------------------------------------------------------------------


def test_decay_lowers_the_score_as_time_passes():
    reports = [report("M1", days_ago=10), report("M2", confidence=0.7, days_ago=30)]
    scores = [score(reports, now=NOW + timedelta(days=d)).score for d in (0, 100, 300, 600)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


def test_decay_is_one_when_fresh_zero_at_the_lifetime_and_follows_the_misp_polynomial():
    assert decay(0, 365) == 1.0
    assert decay(365, 365) == 0.0
    assert decay(1000, 365) == 0.0
    assert decay(182.5, 365) == pytest.approx(1 - 0.5 ** (1 / DECAY_SPEED))


def test_decay_is_slow_early_and_fast_near_the_lifetime():
    early_loss = 1 - decay(36.5, 365)
    late_loss = decay(292, 365) - decay(328.5, 365)  # the same 36.5-day step, near τ
    assert early_loss < 0.05
    assert late_loss > early_loss


def test_a_lead_observed_in_the_future_counts_as_fresh():
    future = score([report(days_ago=-3)], now=NOW)
    fresh = score([report(days_ago=0)], now=NOW)
    assert future.score == fresh.score
    assert future.contributions[0].age_days == 0.0


def test_the_category_lifetime_sets_how_fast_a_lead_decays():
    # DEVICE_FARM lives 180 days, IDENTITY_THEFT 730: at 150 days the farm lead has lost far more.
    farm = score([report(category="DEVICE_FARM", days_ago=150)], now=NOW).contributions[0]
    theft = score([report(category="IDENTITY_THEFT", days_ago=150)], now=NOW).contributions[0]
    assert farm.decay < theft.decay


def test_a_report_older_than_its_lifetime_contributes_nothing_and_the_verdict_is_expired():
    lifetime = BY_CODE["DEVICE_FARM"].lifetime_days
    result = score([report("M1", category="DEVICE_FARM", days_ago=lifetime + 1)], now=NOW)
    assert result.score == 0
    assert result.level == "none"
    assert result.expired is True
    assert result.contributions == ()
    assert result.members == 0
    assert result.last_seen == NOW - timedelta(days=lifetime + 1)


def test_an_expired_report_beside_a_live_one_adds_nothing_and_the_verdict_is_not_expired():
    live = report("M1", days_ago=10)
    both = score([live, report("M2", category="DEVICE_FARM", days_ago=400)], now=NOW)
    assert both.score == score([live], now=NOW).score
    assert both.expired is False
    assert [c.member_ref for c in both.contributions] == ["M1"]


def test_no_reports_score_zero_and_are_not_expired():
    result = score([], now=NOW)
    assert (result.score, result.level, result.expired, result.members) == (0, "none", False, 0)
    assert result.first_seen is None and result.last_seen is None


# --- each member counts once ---------------------------------------------------------------------------


def test_one_member_filing_fifty_leads_on_a_phone_scores_lower_than_five_members_filing_one_each():
    one_member = score([report("M1", category="LOAN_INTERMEDIARY", confidence=0.8, leads=50)], now=NOW)
    five_members = score(
        [report(f"M{i}", category="LOAN_INTERMEDIARY", confidence=0.8, leads=1) for i in range(5)], now=NOW
    )
    assert one_member.score < five_members.score
    assert one_member.contributions[0].leads == 50


def test_a_second_report_from_the_same_member_never_raises_the_score_above_its_strongest():
    strongest = report("M1", category="MONEY_MULE", confidence=0.9)
    alone = score([strongest], now=NOW)
    for other in (
        report("M1", category="LOAN_INTERMEDIARY", confidence=0.6),
        report("M1", category="MONEY_MULE", confidence=0.9, tlp="GREEN"),
        report("M1", category="DEVICE_FARM", confidence=0.5, days_ago=20),
    ):
        together = score([strongest, other], now=NOW)
        assert together.score == alone.score
        assert together.members == 1
        assert together.contributions[0].category == "MONEY_MULE"
        assert together.contributions[0].leads == 2


def test_a_stronger_second_report_from_the_same_member_replaces_the_weaker_one():
    weak = report("M1", category="PROMOTION_ABUSE", confidence=0.5)
    strong = report("M1", category="IMPERSONATE_AUTHORITY", confidence=0.9)
    result = score([weak, strong], now=NOW)
    assert result.score == score([strong], now=NOW).score
    assert result.categories == ("IMPERSONATE_AUTHORITY",)


def test_a_hidden_member_counts_once_by_its_opaque_ref():
    hidden = [report(None, confidence=0.9, member_ref="h:1"), report(None, confidence=0.8, member_ref="h:1")]
    result = score(hidden, now=NOW)
    assert result.members == 1
    assert result.contributions[0].member_code is None
    assert result.contributions[0].member_ref == "h:1"
    two_hidden = score([report(None, member_ref="h:1"), report(None, member_ref="h:2")], now=NOW)
    assert two_hidden.members == 2


def test_a_report_names_its_member_by_code_or_opaque_ref():
    with pytest.raises(ValueError, match="member_ref"):
        report(None, member_ref=None)


def test_a_report_weighs_the_stronger_of_its_most_confident_and_its_latest_lead():
    # The most confident lead is old and decayed; the latest one is fresh but less confident.
    old_strong = report("M1", category="DEVICE_FARM", confidence=0.95, days_ago=170,
                        last_confidence=0.6, last_days_ago=1)
    counted = score([old_strong], now=NOW).contributions[0]
    assert counted.confidence == 0.6
    assert counted.observed_at == NOW - timedelta(days=1)
    # And the other way round: a recent confident lead beats a weaker latest one.
    recent_strong = report("M1", confidence=0.95, days_ago=5, last_confidence=0.3, last_days_ago=1)
    assert score([recent_strong], now=NOW).contributions[0].confidence == 0.95


# --- combining members ---------------------------------------------------------------------------------


def test_two_members_combine_by_noisy_or_above_either_alone_and_below_one():
    a = report("M1", category="LOAN_INTERMEDIARY", confidence=0.7)
    b = report("M2", category="APPLICATION_FRAUD", confidence=0.6)
    wa, wb = (score([r], now=NOW).base for r in (a, b))
    both = score([a, b], now=NOW)
    assert both.base == pytest.approx(1 - (1 - wa) * (1 - wb))
    assert max(wa, wb) < both.base < 1
    assert both.score > max(score([a], now=NOW).score, score([b], now=NOW).score)


def test_reliability_scales_the_weight():
    full = score([report("M1", confidence=0.8, reliability=1.0)], now=NOW).contributions[0]
    half = score([report("M1", confidence=0.8, reliability=0.5)], now=NOW).contributions[0]
    assert half.weight == pytest.approx(full.weight / 2)
    assert half.reliability == 0.5
    assert score([report("M1", reliability=0.0)], now=NOW).score == 0


def test_a_contribution_explains_its_weight_as_the_product_of_its_factors():
    c = score([report("M1", category="IDENTITY_THEFT", confidence=0.8, days_ago=200, reliability=0.9)], now=NOW)
    (counted,) = c.contributions
    assert counted.severity == BY_CODE["IDENTITY_THEFT"].severity
    assert counted.age_days == pytest.approx(200)
    assert counted.decay == pytest.approx(decay(200, BY_CODE["IDENTITY_THEFT"].lifetime_days))
    assert counted.weight == pytest.approx(
        counted.confidence * counted.severity * counted.reliability * counted.decay
    )
    assert c.score == round(100 * counted.weight)


def test_contributions_are_listed_strongest_first_and_their_count_equals_the_member_count():
    reports = [
        report("M1", category="PROMOTION_ABUSE", confidence=0.5),
        report("M2", category="IMPERSONATE_AUTHORITY", confidence=0.9),
        report("M3", category="LOAN_INTERMEDIARY", confidence=0.7),
        report("M3", category="MONEY_MULE", confidence=0.4, days_ago=100),
        report("M4", category="ANTI_COLLECTION", confidence=0.8, days_ago=60),
    ]
    result = score(reports, now=NOW)
    weights = [c.weight for c in result.contributions]
    assert weights == sorted(weights, reverse=True)
    assert len(result.contributions) == result.members == 4
    assert result.contributions[0].member_code == "M2"


def test_categories_are_the_sorted_distinct_codes_of_counted_reports_and_seen_times_span_all_reports():
    reports = [
        report("M1", category="MONEY_MULE", days_ago=3),
        report("M2", category="DEVICE_FARM", days_ago=40),
        report("M3", category="MONEY_MULE", days_ago=7),
        report("M4", category="PROMOTION_ABUSE", days_ago=500),  # expired: not counted, but seen
    ]
    result = score(reports, now=NOW)
    assert result.categories == ("DEVICE_FARM", "MONEY_MULE")
    assert result.first_seen == NOW - timedelta(days=500)
    assert result.last_seen == NOW - timedelta(days=3)


# --- neighbour boost -------------------------------------------------------------------------------------


def test_high_score_neighbours_lift_the_score_and_low_ones_do_not():
    reports = [report("M1", category="LOAN_INTERMEDIARY", confidence=0.6)]
    plain = score(reports, now=NOW)
    assert score(reports, now=NOW, neighbour_scores=[0.2, 0.5]).score == plain.score
    lifted = score(reports, now=NOW, neighbour_scores=[0.9])
    assert lifted.score > plain.score
    assert lifted.base == plain.base
    assert lifted.score == round(100 * (lifted.base + lifted.boost))


def test_the_boost_is_bounded_by_the_cap():
    reports = [report("M1", category="LOAN_INTERMEDIARY", confidence=0.5)]
    result = score(reports, now=NOW, neighbour_scores=[1.0] * 500)
    assert result.boost == pytest.approx(BOOST_CAP)
    assert neighbour_boost([1.0] * 500) == BOOST_CAP


def test_the_boost_never_pushes_the_score_past_one_hundred():
    strong = [report(f"M{i}", category="IMPERSONATE_AUTHORITY", confidence=1.0) for i in range(5)]
    certain = score(strong, now=NOW, neighbour_scores=[1.0] * 10)
    assert certain.score == 100
    assert certain.base + certain.boost <= 1.0


def test_neighbours_cannot_lift_a_zero_base():
    assert score([], now=NOW, neighbour_scores=[1.0] * 10).score == 0
    expired = score([report(category="DEVICE_FARM", days_ago=400)], now=NOW, neighbour_scores=[1.0] * 10)
    assert (expired.score, expired.boost, expired.expired) == (0, 0.0, True)
    unreliable = score([report(reliability=0.0)], now=NOW, neighbour_scores=[1.0])
    assert (unreliable.score, unreliable.boost) == (0, 0.0)


def test_neighbour_scores_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        score([report()], now=NOW, neighbour_scores=[85])


# --- levels and validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, level",
    [(0, "none"), (1, "low"), (39, "low"), (40, "medium"), (69, "medium"), (70, "high"), (100, "high")],
)
def test_level_of_follows_the_documented_thresholds(value, level):
    assert level_of(value) == level


def test_every_level_threshold_is_reachable():
    assert {level_of(lowest) for lowest, _ in LEVEL_THRESHOLDS} == {"none", "low", "medium", "high"}


@pytest.mark.parametrize("value", [-1, 101])
def test_level_of_refuses_a_score_outside_zero_to_one_hundred(value):
    with pytest.raises(ValueError):
        level_of(value)


def test_an_unknown_category_is_refused_with_the_accepted_codes():
    with pytest.raises(ValueError, match="MONEY_MULE"):
        report(category="SPAM")


@pytest.mark.parametrize("field", ["confidence", "reliability"])
@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_confidence_and_reliability_outside_zero_to_one_are_refused(field, value):
    with pytest.raises(ValueError, match="between 0 and 1"):
        report(**{field: value})


def test_naive_datetimes_are_read_as_utc():
    naive = score([report(days_ago=100)], now=NOW.replace(tzinfo=None))
    assert naive.score == score([report(days_ago=100)], now=NOW).score


# --- properties --------------------------------------------------------------------------------------------

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
ages = st.floats(min_value=-30.0, max_value=1000.0, allow_nan=False)


@st.composite
def reports(draw, members=st.sampled_from(["M1", "M2", "M3", "M4"])):
    return report(
        draw(members),
        category=draw(st.sampled_from(sorted(BY_CODE))),
        confidence=draw(unit),
        days_ago=draw(ages),
        leads=draw(st.integers(min_value=1, max_value=100)),
        reliability=draw(unit),
        last_confidence=draw(unit),
        last_days_ago=draw(ages),
    )


report_lists = st.lists(reports(), max_size=12)
neighbours = st.lists(unit, max_size=8)


@settings(max_examples=300)
@given(report_lists, neighbours)
def test_the_score_is_always_between_0_and_100_with_a_matching_level(rs, ns):
    result = score(rs, now=NOW, neighbour_scores=ns)
    assert 0 <= result.score <= 100
    assert result.level == level_of(result.score)
    assert 0.0 <= result.base <= 1.0 and 0.0 <= result.boost <= BOOST_CAP
    assert len(result.contributions) == result.members


@settings(max_examples=300)
@given(report_lists, st.lists(reports(members=st.sampled_from(["N1", "N2", "N3"])), min_size=1, max_size=6), neighbours)
def test_adding_independent_members_never_lowers_the_score(rs, newcomers, ns):
    before = score(rs, now=NOW, neighbour_scores=ns)
    after = score(rs + newcomers, now=NOW, neighbour_scores=ns)
    assert after.score >= before.score
    assert after.base >= before.base


@settings(max_examples=300)
@given(report_lists, neighbours, st.floats(min_value=0.0, max_value=2000.0, allow_nan=False))
def test_the_score_never_rises_as_time_passes(rs, ns, later_days):
    earlier = score(rs, now=NOW, neighbour_scores=ns)
    later = score(rs, now=NOW + timedelta(days=later_days), neighbour_scores=ns)
    assert later.score <= earlier.score
    assert later.base <= earlier.base


@settings(max_examples=500)
@given(report_lists, st.floats(min_value=0.0, max_value=2000.0, allow_nan=False))
def test_base_is_the_scores_base_to_the_last_bit(rs, later_days):
    """A neighbour's boost is computed from `base` alone (check/service.judge); it must be the same float as the
    full score's base, or a neighbour at exactly the threshold could lend a check a point it should not."""
    now = NOW + timedelta(days=later_days)
    assert base(rs, now=now) == score(rs, now=now).base
    assert base(list(reversed(rs)), now=now) == score(rs, now=now).base
