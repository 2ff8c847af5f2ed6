"""The per-peer circuit breaker: opens after repeated failures, lets one probe through later, closes on success."""

from __future__ import annotations

from federation.breaker import Breaker, BreakerState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_the_configured_consecutive_failures() -> None:
    breaker = Breaker(3, 10.0, Clock())
    for _ in range(2):
        breaker.failed()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = Breaker(2, 10.0, Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state is BreakerState.CLOSED


def test_an_open_breaker_lets_one_probe_through_after_the_reset_time() -> None:
    clock = Clock()
    breaker = Breaker(1, 10.0, clock)
    breaker.failed()
    clock.now += 9.9
    assert not breaker.allow()
    clock.now += 0.2
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one probe at a time


def test_a_failed_probe_reopens_and_a_successful_one_closes() -> None:
    clock = Clock()
    breaker = Breaker(3, 5.0, clock)
    for _ in range(3):
        breaker.failed()
    clock.now += 5.0
    assert breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
