"""The Sales rate-limit budget, shared by every process of a deployment.

Sales counts requests per key in windows and says how many are left
(``X-RateLimit-Remaining``) and when the window resets (``X-RateLimit-Reset``).
Each process asks the budget for a slot before a call and reports the
headers after it. The rules (``take`` and ``observe``) are pure functions over
a small state, so the three stores (memory, database, Redis) apply exactly the
same policy atomically:

- an unknown bucket lets one probe through and holds everyone else until its
  answer tells the real numbers;
- a known window hands out at most what Sales said is left, minus what is in
  flight;
- a spent window waits for its reset.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from threading import Lock
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

PROBE_SECONDS = 5.0  # how long a probe holds others back before another may try
DEFAULT_WINDOW_SECONDS = 60.0
EPOCH_THRESHOLD = 1_000_000_000  # X-RateLimit-Reset above this is epoch seconds, below it seconds from now
SAFETY_SECONDS = 0.05
UNLIMITED = -1  # Sales sent no rate-limit headers: nothing to pace until the state expires


@dataclass(frozen=True)
class WindowState:
    limit: int
    remaining: int
    reset_at: float


def take(state: WindowState | None, now: float) -> tuple[WindowState, float]:
    """Ask for one slot: the new state and how long to wait (0 means go now)."""
    if state is None or (now >= state.reset_at + SAFETY_SECONDS and state.limit <= 0):
        # Nothing known (or a probe that never reported): one call goes and finds out.
        return WindowState(limit=0, remaining=0, reset_at=now + PROBE_SECONDS), 0.0
    if state.limit == UNLIMITED:
        return state, 0.0
    if now >= state.reset_at + SAFETY_SECONDS:
        return WindowState(state.limit, state.limit - 1, now + DEFAULT_WINDOW_SECONDS), 0.0
    if state.remaining > 0:
        return WindowState(state.limit, state.remaining - 1, state.reset_at), 0.0
    return state, state.reset_at + SAFETY_SECONDS - now


def observe(state: WindowState | None, limit: int, remaining: int, reset_at: float) -> WindowState:
    """Fold a response's headers into the state, never handing back slots already taken."""
    if state is None or state.limit <= 0 or limit == UNLIMITED or reset_at > state.reset_at + 1:
        return WindowState(limit, remaining, reset_at)  # first word from Sales, or a new window
    return WindowState(limit, min(state.remaining, remaining), min(state.reset_at, reset_at))


def exhausted(state: WindowState | None, reset_at: float, now: float) -> WindowState:
    """A 429: nothing is left until ``reset_at``."""
    limit = state.limit if state and state.limit > 0 else 0
    return WindowState(limit, 0, max(reset_at, now + 1))


def parse_reset(value: str | None, now: float) -> float | None:
    """``X-RateLimit-Reset`` as epoch seconds, whether Sales sent epoch seconds or seconds from now."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= EPOCH_THRESHOLD else now + number


class RateBudget(Protocol):
    def acquire(self, bucket: str) -> float: ...

    def report(self, bucket: str, limit: int, remaining: int, reset_at: float) -> None: ...

    def exhaust(self, bucket: str, reset_at: float) -> None: ...


class _Store:
    """What a budget needs from its storage: run ``change`` on one bucket's state atomically."""

    clock: Callable[[], float] = time.time

    def update(self, bucket: str, change: Callable[[WindowState | None], tuple[WindowState, float]]) -> float:
        raise NotImplementedError

    def acquire(self, bucket: str) -> float:
        now = self.clock()
        return self.update(bucket, lambda state: take(state, now))

    def report(self, bucket: str, limit: int, remaining: int, reset_at: float) -> None:
        self.update(bucket, lambda state: (observe(state, limit, remaining, reset_at), 0.0))

    def exhaust(self, bucket: str, reset_at: float) -> None:
        now = self.clock()
        self.update(bucket, lambda state: (exhausted(state, reset_at, now), 0.0))


class MemoryBudget(_Store):
    """For one process (tests, a single-process deployment)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._states: dict[str, WindowState] = {}
        self._lock = Lock()

    def update(self, bucket, change):
        with self._lock:
            state, wait = change(self._states.get(bucket))
            self._states[bucket] = state
            return wait


class DatabaseBudget(_Store):
    """Shared through the app's database: one row per key, changed under a row lock."""

    def __init__(self, database, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._database = database

    def update(self, bucket, change):
        from ..models import SalesRateWindow  # the store's table lives with the other models

        for _attempt in range(5):
            try:
                with self._database.transaction() as session:
                    row = session.scalars(
                        select(SalesRateWindow).where(SalesRateWindow.bucket == bucket).with_for_update()
                    ).one_or_none()
                    current = WindowState(row.limit, row.remaining, row.reset_at) if row else None
                    state, wait = change(current)
                    if row is None:
                        row = SalesRateWindow(bucket=bucket)
                        session.add(row)
                    row.limit, row.remaining, row.reset_at = state.limit, state.remaining, state.reset_at
                    row.updated_at = self.clock()
                    return wait
            except IntegrityError:
                continue  # two processes created the row at once; the loser reads the winner's
        raise RuntimeError("rate budget row could not be written")


class RedisBudget(_Store):
    """Shared through Redis: an optimistic WATCH/MULTI transaction per change."""

    PREFIX = "zapp:sales-budget:"

    def __init__(self, client, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._redis = client

    def update(self, bucket, change):
        key = self.PREFIX + bucket
        outcome: list[float] = []

        def transaction(pipe):
            raw = pipe.get(key)
            current = WindowState(**json.loads(raw)) if raw else None
            state, wait = change(current)
            pipe.multi()
            pipe.set(key, json.dumps(state.__dict__), ex=3600)
            outcome[:] = [wait]

        self._redis.transaction(transaction, key)
        return outcome[0]


def build_budget(redis_url: str | None, database) -> RateBudget:
    """Redis when the deployment has it (several machines), else the database every process shares."""
    if redis_url:
        import redis

        return RedisBudget(redis.Redis.from_url(redis_url))
    return DatabaseBudget(database)
