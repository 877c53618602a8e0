"""A circuit breaker per Sales base URL, shared by every thread of a process.

When Sales stops answering, each call would otherwise spend its whole budget
finding that out again. After ``failures`` failed attempts in a row (no
connection, a timeout, a 5xx) the breaker opens: the client fails calls at
once (``CircuitOpen``, with the rest of the cool-down as ``retry_after``). Then it
half-opens: one call goes through as a probe (the others still fail at
once); its success closes the breaker, its failure opens it for another
cool-down. A probe that never reports (its thread died) is given up after
one cool-down, and another call probes.

Any answer below 500 (a 4xx, a 429) is a sign of life and counts as a
success: a key refused or a rate limit is one installation's business, not a
sign that Sales is down for everyone.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from threading import Lock

FAILURES_TO_OPEN = 5
# (inferred) Sales states no recovery time: long enough to spare it, short enough for people.
COOL_DOWN_SECONDS = 30.0


class CircuitBreaker:
    def __init__(
        self,
        failures: int = FAILURES_TO_OPEN,
        cool_down: float = COOL_DOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._cool_down = cool_down
        self._clock = clock
        self._lock = Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_since: float | None = None

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def closed_for(self) -> float:
        """0 when an attempt may go now (closed, or this one is the half-open probe); else the
        seconds after which trying again makes sense."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            now = self._clock()
            cooled = now - self._opened_at >= self._cool_down
            probe_stale = self._probe_since is None or now - self._probe_since >= self._cool_down
            if cooled and probe_stale:
                self._probe_since = now  # half-open: this attempt is the probe
                return 0.0
            waited = now - (self._probe_since if cooled and self._probe_since else self._opened_at)
            return float(max(1, math.ceil(self._cool_down - waited)))

    def succeeded(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._probe_since = 0, None, None

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._opened_at is not None or self._failures >= self._threshold:
                self._opened_at, self._probe_since = self._clock(), None


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = Lock()


def breaker_for(base_url: str) -> CircuitBreaker:
    """The process's breaker for ``base_url``: every client (every key) calling that Sales shares it."""
    with _breakers_lock:
        breaker = _breakers.get(base_url)
        if breaker is None:
            breaker = _breakers[base_url] = CircuitBreaker()
        return breaker


def forget_breakers() -> None:
    """Drop every breaker (what a Sales at a reused address must not inherit: tests' sandboxes)."""
    with _breakers_lock:
        _breakers.clear()
