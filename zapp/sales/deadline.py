"""How long a Sales call may take in all: connect, read, retries and rate-limit waits together.

A background job gives each call a long, patient budget (``SalesClient``'s
own). Code answering a person (a page, a follow-up call) opens a shorter
budget for everything it asks Sales with ``call_budget(seconds)``; every call
made inside it, on any client, ends by then. Budgets nest: an inner one can
only shorten the outer one. The budget lives in a context variable, so each
thread (each request under gunicorn) has its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_active: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("zapp_sales_deadline", default=None)


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock past which no call may still be running."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock())

    def sooner(self, other: Deadline | None) -> Deadline:
        return self if other is None or self.at <= other.at else other


def current_deadline() -> Deadline | None:
    """The budget opened by ``call_budget`` around this call, if any."""
    return _active.get()


@contextlib.contextmanager
def call_budget(seconds: float) -> Iterator[Deadline]:
    """Every Sales call inside ends within ``seconds`` from now (or sooner, if an outer budget says so)."""
    deadline = Deadline.after(seconds).sooner(_active.get())
    token = _active.set(deadline)
    try:
        yield deadline
    finally:
        _active.reset(token)
