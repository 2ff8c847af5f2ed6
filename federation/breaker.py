"""A circuit breaker per peer: open after repeated failures, let one probe through later, close on success."""

from __future__ import annotations

import time
from enum import Enum
from typing import Callable


class BreakerState(str, Enum):
    CLOSED = "CLOSED"  # the peer is asked
    OPEN = "OPEN"  # the peer is skipped until the reset time has passed
    HALF_OPEN = "HALF_OPEN"  # one probe is in flight; its outcome closes or re-opens the breaker


class Breaker:
    def __init__(self, failures_to_open: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures_to_open = failures_to_open
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = 0.0

    def allow(self) -> bool:
        """May the peer be asked now? An open breaker past its reset time lets exactly one probe through."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.reset_seconds:
            self.state = BreakerState.HALF_OPEN
            return True
        return False

    def succeeded(self) -> None:
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0

    def failed(self) -> None:
        self.consecutive_failures += 1
        if self.state is BreakerState.HALF_OPEN or self.consecutive_failures >= self.failures_to_open:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()
