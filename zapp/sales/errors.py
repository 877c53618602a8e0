"""One family of typed errors for everything that can go wrong talking to Sales.

Messages name the method and path, never the URL with its query string: the
API key travels there, and exception texts end up in logs.
"""

from __future__ import annotations


class SalesError(Exception):
    """Sales refused or could not answer; ``status`` and ``code`` are Sales' own when it sent them.

    ``sales_message`` is the text of Sales' answer alone (no method or path),
    for showing to the person whose action Sales refused. ``retry_after``:
    seconds after which trying again makes sense, when known (Sales'
    ``Retry-After`` or rate-limit reset, or the circuit breaker's cool-down).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        sales_message: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.sales_message = sales_message
        self.method = method
        self.path = path
        self.retry_after = retry_after

    @property
    def may_have_changed_something(self) -> bool:
        """Whether Sales may have applied the request although it failed (a write it may have received).

        A read changes nothing; a 429, a 503 or a connection never made means
        Sales did not act; a timeout, a reset or another 5xx on a write may
        hide a success.
        """
        if self.method in (None, "GET", "HEAD", "OPTIONS") or isinstance(self, Unreachable | RateLimited):
            return False
        return isinstance(self, Unavailable) and self.status != 503


class InvalidId(SalesError, ValueError):
    """An id that is not a 24-character lowercase hex ObjectId; refused before any request."""


class InvalidInput(SalesError):
    """400/422: Sales rejected what we sent; its message says why."""


class Unauthorized(SalesError):
    """401: the key is unknown, refreshed or the App disabled."""


class Forbidden(SalesError):
    """403: the key lacks the scope this call needs."""


class NotFound(SalesError):
    """404: no such prospect, group, subscription..."""


class Conflict(SalesError):
    """409: an ``as-user`` call without a user configured on the integration."""


class RateLimited(SalesError):
    """429, and waiting for the window to reset does not fit in the call's budget."""


class Unavailable(SalesError):
    """5xx, a connection failure or a timeout."""


class Timeout(Unavailable):
    """Sales did not answer in time."""


class Unreachable(Unavailable):
    """No connection could be made: the request never reached Sales."""


class BudgetUnavailable(Unreachable):
    """The shared rate-limit budget (Redis or the database) could not be read, so nothing was sent."""


class BudgetSpent(Unreachable):
    """The call's time budget ran out before an attempt could be sent: nothing reached Sales."""


class CircuitOpen(Unreachable):
    """Sales failed repeatedly just now; the call was not made (``retry_after``: the cool-down left)."""


class RedirectRefused(SalesError):
    """Sales answered with a redirect; following it could send the key to another host."""


_BY_STATUS: dict[int, type[SalesError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: RateLimited,
}


def error_for_status(status: int) -> type[SalesError]:
    if status >= 500:
        return Unavailable
    if 300 <= status < 400:
        return RedirectRefused
    return _BY_STATUS.get(status, SalesError)
