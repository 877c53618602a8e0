"""The Sales REST API client: one session per instance key, paced, retried where safe, typed errors.

It knows nothing of Flask. The key goes as the ``api-key`` query parameter on
every call, so redirects are never followed (the key must not travel to
another host) and error texts carry the path, never the URL.

Every call goes through one loop (``request``), as stripe-python's requestor
does: one predicate says whether a failed attempt is tried again
(``_should_retry``), one sleep policy says when (Sales' ``Retry-After`` or
rate-limit reset when it sent one, else jittered doubling), and one deadline
bounds the whole call: connect, read, retries and rate-limit waits alike.
The deadline is the client's own (long and patient, for background jobs) or
sooner when the caller opened a ``call_budget`` (a page answering a person).
A circuit breaker per base URL, shared by the process's threads, fails calls
at once while Sales is failing.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

from . import models as m
from .breaker import CircuitBreaker, breaker_for
from .budget import MemoryBudget, RateBudget, parse_reset
from .deadline import Deadline, current_deadline
from .errors import (
    BudgetSpent,
    BudgetUnavailable,
    CircuitOpen,
    RateLimited,
    SalesError,
    Timeout,
    Unavailable,
    Unreachable,
    error_for_status,
)
from .ids import require_channel, require_id
from .inferred import CHILDREN_PATH, SEARCH_PATH
from .paging import Checkpoint, Progress, iter_windowed

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 20.0)
# A background call's whole budget: long enough to wait out a few of Sales' one-minute rate-limit
# windows, as a job can afford to (inferred: Sales documents the window, not how long to wait).
PATIENT_SECONDS = 300.0
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_ATTEMPTS = 50  # whatever the deadline: a hard stop for a window that keeps resetting to "now"
BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 4.0
MAX_HINT_SECONDS = 120.0  # a Retry-After beyond this is not waited for even by a patient call
MIN_ATTEMPT_SECONDS = 0.05  # an attempt with less time than this left is not started
USER_AGENT = "zapp/0.1 (+Zenvia Sales App)"
LEAD_KINDS = ("retail", "vehicle", "insurance", "real-estate", "saving-plan")


class SalesClient:
    """Calls the Sales API with one instance's key."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        budget: RateBudget | None = None,
        budget_key: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        total_seconds: float = PATIENT_SECONDS,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = api_key
        self._base = base_url.rstrip("/")
        self._budget = budget or MemoryBudget(clock)
        self._bucket = budget_key or "default"
        self._timeout = timeout
        self._retries = retries
        self._total = total_seconds
        self._breaker = breaker or breaker_for(self._base)
        self._sleep = sleep
        self._clock = clock
        self.calls = 0
        self._session = self._build_session()

    def __repr__(self) -> str:  # never shows the key
        return f"<SalesClient {self._base}>"

    def close(self) -> None:
        self._session.close()

    # -- transport -------------------------------------------------------------------

    def _build_session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # No retries below ours: one loop decides, and knows how long everything took.
        session.mount("https://", HTTPAdapter(max_retries=0))
        session.mount("http://", HTTPAdapter(max_retries=0))
        session.trust_env = False  # no proxy or netrc from the environment sees the key
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
    ) -> Any:
        """One call, ended by its deadline: tried again while ``_should_retry`` says so and the wait fits.

        Raises a ``SalesError``; its ``retry_after`` says when trying again makes sense, when known.
        """
        deadline = Deadline.after(self._total).sooner(current_deadline())
        failures = 0
        for attempt in itertools.count(1):
            try:
                return self._attempt(method, path, params, json, files, deadline)
            except SalesError as error:
                delay = _retry_delay(error, failures)
                if attempt >= MAX_ATTEMPTS or not self._should_retry(method, error, failures):
                    raise
                if delay + MIN_ATTEMPT_SECONDS >= deadline.remaining():
                    log.info("%s %s: no retry, %.1f s left of the call's budget", method, path,
                             deadline.remaining())  # fmt: skip
                    raise
                failures += not isinstance(error, RateLimited)
                if isinstance(error, RateLimited):
                    log.warning("Sales rate limit reached; waiting %.1f s", delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _should_retry(self, method: str, error: SalesError, failures: int) -> bool:
        """The one retry predicate.

        A 429 means Sales did nothing: wait for the window (the deadline bounds
        how long). An open breaker is not asked again before its cool-down.
        Otherwise at most ``retries`` failures: a connection never made is
        always safe to retry; a timeout or a 5xx only for methods that are
        harmless to repeat, since Sales may have acted.
        """
        if isinstance(error, CircuitOpen | BudgetSpent):
            return False
        if isinstance(error, RateLimited):
            return True
        if failures >= self._retries:
            return False
        if isinstance(error, Unreachable):
            return True
        return isinstance(error, Unavailable) and method in IDEMPOTENT

    def _attempt(self, method, path, params, json, files, deadline: Deadline) -> Any:
        """One attempt: breaker, rate-limit slot, the HTTP exchange, its typed result."""
        closed_for = self._breaker.closed_for()
        if closed_for:
            raise CircuitOpen(
                f"{method} {path}: Sales has been failing; not calling it for {closed_for:g} s",
                method=method,
                path=path,
                retry_after=closed_for,
            )
        self._take_slot(method, path, deadline)
        try:
            response = self._send(method, path, params, json, files, deadline)
        except BudgetSpent:
            raise  # nothing was sent: no news about Sales
        except Unavailable:
            self._breaker.failed()
            raise
        if response.status_code >= 500:
            self._breaker.failed()
        else:
            self._breaker.succeeded()
        self._keep_limits(response)
        try:
            return self._result(method, path, response)
        except SalesError as error:
            error.retry_after = self._server_hint(response)
            raise

    def _take_slot(self, method: str, path: str, deadline: Deadline) -> None:
        """A budget slot, or ``BudgetUnavailable``: its store failing means nothing was sent, so the
        caller may safely try again later (an automatic reply is retried, not stranded)."""
        try:
            self._wait_for_slot(method, path, deadline)
        except SalesError:
            raise  # the wait does not fit the deadline: RateLimited, as it is
        except Exception as error:  # Redis or the database behind the budget, down or timing out
            raise BudgetUnavailable(
                f"{method} {path}: the rate-limit budget is unavailable ({type(error).__name__})",
                method=method,
                path=path,
            ) from error

    def _keep_limits(self, response: requests.Response) -> None:
        """Record Sales' rate-limit headers; a budget store failing now must not hide Sales' answer
        (the request was made: raising would make a sent message look unsent)."""
        try:
            self._note_limits(response)
        except Exception as error:  # the next slot taken finds the store again, or fails before sending
            log.warning("could not record Sales' rate-limit headers (%s)", type(error).__name__)

    def _wait_for_slot(self, method: str, path: str, deadline: Deadline) -> None:
        """Take a slot of the shared rate-limit budget, waiting only as long as the deadline allows."""
        while (wait := self._budget.acquire(self._bucket)) > 0:
            if wait + MIN_ATTEMPT_SECONDS >= deadline.remaining():
                raise RateLimited(
                    f"{method} {path}: Sales' rate limit is spent for {wait:.1f} s more, past this "
                    "call's budget",
                    status=429,
                    method=method,
                    path=path,
                    retry_after=math.ceil(wait),
                )
            self._sleep(min(wait, 1.0) + random.uniform(0, 0.05))  # noqa: S311 - jitter, not crypto

    def _note_limits(self, response: requests.Response) -> None:
        now = self._clock()
        headers = response.headers
        reset_at = parse_reset(headers.get("X-RateLimit-Reset"), now)
        if response.status_code == 429:
            self._budget.exhaust(self._bucket, reset_at or now + 60)
            return
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
        except (KeyError, ValueError):
            self._budget.report(self._bucket, -1, -1, now + 60)
            return
        self._budget.report(self._bucket, limit, remaining, reset_at or now + 60)

    def _server_hint(self, response: requests.Response) -> float | None:
        """Seconds Sales asked us to wait: ``Retry-After``, or a 429's window reset (a minute if unsaid)."""
        now = self._clock()
        hinted = _retry_after_seconds(response.headers.get("Retry-After"), now)
        if hinted is not None:
            return hinted
        if response.status_code == 429:
            reset_at = parse_reset(response.headers.get("X-RateLimit-Reset"), now) or now + 60
            return max(reset_at - now, 0.5)
        return None

    def _send(self, method, path, params, json, files, deadline: Deadline) -> requests.Response:
        left = deadline.remaining()
        where = {"method": method, "path": path}
        if left < MIN_ATTEMPT_SECONDS:
            raise BudgetSpent(f"{method} {path}: no time left in this call's budget; not sent", **where)
        timeout = (min(self._timeout[0], left), min(self._timeout[1], left))
        query = {**(params or {}), "api-key": self._key}
        self.calls += 1
        try:
            return self._session.request(
                method,
                self._base + path,
                params=query,
                json=json,
                files=files,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            if _connection_never_made(error):
                raise Unreachable(
                    f"{method} {path}: could not connect to Sales ({type(error).__name__})", **where
                ) from None
            if _timed_out(error):
                waited = f"{timeout[1]:.3g}"
                raise Timeout(f"{method} {path}: Sales did not answer within {waited} s", **where) from None
            reason = type(error).__name__
            raise Unavailable(f"{method} {path}: could not reach Sales ({reason})", **where) from None

    def _result(self, method: str, path: str, response: requests.Response) -> Any:
        if response.status_code < 300:
            return response.json() if response.content else None
        message, code = _sales_message(response)
        error = error_for_status(response.status_code)
        if 300 <= response.status_code < 400:
            message = "Sales answered with a redirect; refusing to follow it with the key"
        raise error(
            f"{method} {path}: {message}",
            status=response.status_code,
            code=code,
            sales_message=message,
            method=method,
            path=path,
        )

    # -- typed answers ---------------------------------------------------------------
    # Every answer becomes a model of ``models`` (unknown fields kept); a wrong type raises
    # ``InvalidAnswer`` naming the field. The request loop above stays untyped.

    def _one(self, model: type[m.SalesObject], method: str, path: str, **kwargs: Any) -> Any:
        return model.load(self.request(method, path, **kwargs), where=f"{method} {path}")

    def _many(self, model: type[m.SalesObject], method: str, path: str, **kwargs: Any) -> list[Any]:
        return m.load_list(model, self.request(method, path, **kwargs), where=f"{method} {path}")

    # -- lists ----------------------------------------------------------------------

    def iter_prospects(
        self,
        created_after: datetime,
        created_before: datetime,
        *,
        resume_from: Checkpoint | None = None,
        on_page: Progress | None = None,
        **filters: Any,
    ) -> Iterator[m.Prospect]:
        """Every prospect created in the range, once, whatever its length."""
        return self._iter_list(
            m.Prospect, "/prospects", created_after, created_before, resume_from, on_page, filters
        )

    def iter_interactions(
        self,
        created_after: datetime,
        created_before: datetime,
        *,
        resume_from: Checkpoint | None = None,
        on_page: Progress | None = None,
        **filters: Any,
    ) -> Iterator[m.Interaction]:
        """Every interaction created in the range, once, whatever its length."""
        return self._iter_list(
            m.Interaction,
            "/prospects/interactions",
            created_after,
            created_before,
            resume_from,
            on_page,
            filters,
        )

    def _iter_list(self, model, path, created_after, created_before, resume_from, on_page, filters):
        return iter_windowed(
            lambda query: m.load_list(model, self.request("GET", path, params=query), where=f"GET {path}"),
            created_after,
            created_before,
            params=filters,
            resume_from=resume_from,
            on_page=on_page,
        )

    def list_prospects(self, **params: Any) -> list[m.Prospect]:
        return self._many(m.Prospect, "GET", "/prospects", params=params)

    # -- leads ----------------------------------------------------------------------

    def process_lead(self, lead: dict[str, Any], kind: str = "retail") -> m.ProspectCreated:
        if kind not in LEAD_KINDS:
            raise ValueError(f"unknown lead type {kind!r}")
        return self._one(m.ProspectCreated, "POST", f"/lead/{kind}", json=lead)

    def lead_categories(self) -> list[Any]:
        """The item shape is not stated by any source: returned as sent."""
        answer = self.request("GET", "/leads/categories")
        if not isinstance(answer, list):
            raise m.InvalidAnswer("GET /leads/categories: expected an array", field="", model="Categories")
        return answer

    def lead_defaults(self) -> m.Defaults:
        return self._one(m.Defaults, "GET", "/leads/defaults")

    # -- prospects ------------------------------------------------------------------

    def get_prospect(self, prospect_id: str) -> m.Prospect:
        return self._one(m.Prospect, "GET", f"/prospect/{require_id(prospect_id, 'prospect id')}")

    def search_prospect(
        self, *, email: str | None = None, phone_number: str | None = None
    ) -> m.ProspectSearchResult:
        if not email and not phone_number:
            raise ValueError("give an email or a phone number")
        params = {k: v for k, v in {"email": email, "phoneNumber": phone_number}.items() if v}
        return self._one(m.ProspectSearchResult, "GET", SEARCH_PATH, params=params)

    def update_prospect(self, prospect_id: str, changes: dict[str, Any]) -> m.Prospect:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}"
        return self._one(m.Prospect, "PATCH", path, json=changes)

    def delete_prospect(self, prospect_id: str) -> m.Prospect:
        return self._one(m.Prospect, "DELETE", f"/prospect/{require_id(prospect_id, 'prospect id')}")

    def update_additional_data(self, prospect_id: str, values: dict[str, Any]) -> m.Prospect:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/additionalData"
        return self._one(m.Prospect, "PATCH", path, json=values)

    def prospect_additional_fields(self, prospect_id: str) -> list[m.ProspectAdditionalField]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/prospectAdditionalFields"
        return self._many(m.ProspectAdditionalField, "GET", path)

    def send_csat(self, prospect_id: str, result: int, comment: str | None = None) -> m.CsatAnswer:
        body = {"result": result, **({"comment": comment} if comment else {})}
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/csat"
        return self._one(m.CsatAnswer, "POST", path, json=body)

    def contact_selection(self, selection_id: str, **params: Any) -> m.ProspectsPaginated:
        path = f"/contacts/selection/{require_id(selection_id, 'selection id')}"
        return self._one(m.ProspectsPaginated, "GET", path, params=params)

    # -- interactions ---------------------------------------------------------------

    def list_prospect_interactions(self, prospect_id: str, **params: Any) -> list[m.Interaction]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/interactions"
        return self._many(m.Interaction, "GET", path, params=params)

    def add_note(self, prospect_id: str, content: str) -> list[m.Interaction]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/interactions"
        return self._many(m.Interaction, "POST", path, json={"type": "note", "content": content})

    def get_interaction(self, prospect_id: str, interaction_id: str) -> m.Interaction:
        return self._one(m.Interaction, "GET", _interaction_path(prospect_id, interaction_id))

    def update_interaction(
        self, prospect_id: str, interaction_id: str, event: dict[str, Any]
    ) -> m.Interaction:
        return self._one(m.Interaction, "PUT", _interaction_path(prospect_id, interaction_id), json=event)

    # -- quotes ---------------------------------------------------------------------

    def list_quotes(self, **params: Any) -> list[m.Quote]:
        return self._many(m.Quote, "GET", "/prospects/quotes", params=params)

    def prospect_quotes(self, prospect_id: str, **params: Any) -> list[m.Quote]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/quotes"
        return self._many(m.Quote, "GET", path, params=params)

    def create_quote(self, prospect_id: str, items: list[dict[str, Any]], status: str = "pending") -> m.Quote:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/quotes"
        return self._one(m.Quote, "POST", path, json={"status": status, "items": items})

    def get_quote(self, prospect_id: str, quote_id: str) -> m.Quote:
        return self._one(m.Quote, "GET", _quote_path(prospect_id, quote_id))

    def update_quote(self, prospect_id: str, quote_id: str, status: str) -> m.Quote:
        return self._one(m.Quote, "PUT", _quote_path(prospect_id, quote_id), json={"status": status})

    # -- messaging ------------------------------------------------------------------

    def list_channels(self) -> list[m.Channel]:
        return self._many(m.Channel, "GET", "/messaging/channels")

    def list_prospect_channels(self, prospect_id: str) -> list[m.Channel]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/messaging/channels"
        return self._many(m.Channel, "GET", path)

    def send_template(
        self, prospect_id: str, channel: str, key: str, parameters: dict[str, str] | None = None
    ) -> list[m.Interaction]:
        """``parameters`` only override the values Sales fills itself (seed L656): may be left out."""
        prospect, channel = require_id(prospect_id, "prospect id"), require_channel(channel)
        path = f"/prospect/{prospect}/messaging/{channel}/notification"
        body: dict[str, Any] = {"key": key, **({"parameters": parameters} if parameters else {})}
        return self._many(m.Interaction, "POST", path, json=body)

    def send_message(self, prospect_id: str, channel: str, content: str) -> list[m.Interaction]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/messaging/{require_channel(channel)}"
        return self._many(m.Interaction, "POST", path, json={"content": content})

    def send_file(
        self, prospect_id: str, channel: str, filename: str, content: bytes, content_type: str
    ) -> list[m.Interaction]:
        prospect, channel = require_id(prospect_id, "prospect id"), require_channel(channel)
        path = f"/prospect/{prospect}/messaging/{channel}/send-file"
        return self._many(m.Interaction, "POST", path, files={"file": (filename, content, content_type)})

    def prospect_orders(self, prospect_id: str, limit: int | None = None) -> list[m.OrderByProspect]:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/orders"
        return self._many(m.OrderByProspect, "GET", path, params={"limit": limit} if limit else None)

    # -- handoff --------------------------------------------------------------------

    def transfer(
        self, prospect_id: str, *, group: str | None = None, user: str | None = None
    ) -> m.TransferResult:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/transfer"
        return self._one(m.TransferResult, "POST", path, json=_target(group, user))

    def transfer_as_user(
        self, prospect_id: str, *, group: str | None = None, user: str | None = None
    ) -> m.TransferResult:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/as-user/transfer"
        return self._one(m.TransferResult, "POST", path, json=_target(group, user))

    def transfer_targets(self) -> m.GroupUserTransferable:
        return self._one(m.GroupUserTransferable, "GET", "/as-user/transfer")

    def archive(self, prospect_id: str, reason: str, **fields: Any) -> m.Prospect:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/as-user/archive"
        return self._one(m.Prospect, "POST", path, json={"archivingReason": reason, **fields})

    def archiving_reasons(self) -> list[m.ArchivingReason]:
        return self._many(m.ArchivingReason, "GET", "/as-user/archiving-reasons")

    def labels(self) -> list[m.ProspectLabel]:
        return self._many(m.ProspectLabel, "GET", "/as-user/labels")

    def set_label(self, prospect_id: str, label: str) -> m.Prospect:
        path = f"/prospect/{require_id(prospect_id, 'prospect id')}/as-user/label"
        return self._one(m.Prospect, "POST", path, json={"label": label})

    # -- account structure ----------------------------------------------------------

    def check_credentials(self) -> bool:
        """Whether Sales accepts the key (an empty 200); a refused key raises ``Unauthorized``."""
        self.request("GET", "/checkCredentials")
        return True

    def get_integration(self) -> m.Integration:
        return self._one(m.Integration, "GET", "/integration")

    def list_integrations(self) -> list[m.Integration]:
        return self._many(m.Integration, "GET", "/integrations")

    def list_agents(self, group: str, active: bool | None = None) -> list[m.Agent]:
        """The agents of ``group`` (required by the seed, L973)."""
        params: dict[str, Any] = {"group": require_id(group, "group id")}
        if active is not None:
            params["active"] = "true" if active else "false"
        return self._many(m.Agent, "GET", "/agents", params=params)

    def agent_is_working(self, agent_id: str) -> m.Flag:
        return self._one(m.Flag, "GET", f"/agents/{require_id(agent_id, 'agent id')}/is-working")

    def list_groups(self, parent: str | None = None) -> list[m.GroupNode]:
        params = {"parent": require_id(parent, "group id")} if parent else None
        return self._many(m.GroupNode, "GET", "/groups", params=params)

    def group_children(self, parent: str | None = None) -> list[m.GroupNode]:
        params = {"parent": require_id(parent, "group id")} if parent else None
        return self._many(m.GroupNode, "GET", CHILDREN_PATH, params=params)

    def get_group(self, group_id: str) -> m.GroupNode:
        return self._one(m.GroupNode, "GET", f"/group/{require_id(group_id, 'group id')}")

    def online_agents(self, group_id: str, available: bool | None = None) -> m.OnlineAgents:
        params = {"availableAgents": "true" if available else "false"} if available is not None else None
        path = f"/group/{require_id(group_id, 'group id')}/agents/online"
        return self._one(m.OnlineAgents, "GET", path, params=params)

    def group_is_working(self, group_id: str) -> m.Flag:
        return self._one(m.Flag, "GET", f"/groups/{require_id(group_id, 'group id')}/is-working")

    def list_industries(self) -> list[m.Industry]:
        return self._many(m.Industry, "GET", "/industries")

    # -- notifications --------------------------------------------------------------

    def notification_topics(self) -> list[m.Topic]:
        return self._many(m.Topic, "GET", "/notifications/topics")

    def list_subscriptions(self) -> list[m.Subscription]:
        return self._many(m.Subscription, "GET", "/notifications/subscriptions")

    def create_subscription(self, topics: list[str], callback_url: str) -> m.Subscription:
        body = {"topics": topics, "callbackUrl": callback_url}
        return self._one(m.Subscription, "POST", "/notifications/subscriptions", json=body)

    def delete_subscriptions(self) -> m.SubscriptionsModified:
        """Deactivate every subscription of the key."""
        return self._one(m.SubscriptionsModified, "DELETE", "/notifications/subscriptions")

    def get_subscription(self, subscription_id: str) -> m.Subscription:
        path = f"/notifications/subscription/{require_id(subscription_id, 'subscription id')}"
        return self._one(m.Subscription, "GET", path)

    def delete_subscription(self, subscription_id: str) -> m.Subscription:
        path = f"/notifications/subscription/{require_id(subscription_id, 'subscription id')}"
        return self._one(m.Subscription, "DELETE", path)


def _interaction_path(prospect_id: str, interaction_id: str) -> str:
    prospect = require_id(prospect_id, "prospect id")
    return f"/prospect/{prospect}/interaction/{require_id(interaction_id, 'interaction id')}"


def _quote_path(prospect_id: str, quote_id: str) -> str:
    return f"/prospect/{require_id(prospect_id, 'prospect id')}/quote/{require_id(quote_id, 'quote id')}"


def _connection_never_made(error: requests.RequestException) -> bool:
    """A connect timeout or a refused or unresolvable connection: nothing was sent."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, ConnectTimeoutError | NewConnectionError)


def _timed_out(error: requests.RequestException) -> bool:
    """requests reports a read timeout after exhausted retries as a ConnectionError; look inside."""
    if isinstance(error, requests.Timeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, ReadTimeoutError | ConnectTimeoutError)


def _retry_delay(error: SalesError, failures: int) -> float:
    """The one sleep policy: what Sales asked for when it said, else jittered doubling from 0.25 s."""
    if error.retry_after is not None:
        return min(error.retry_after, MAX_HINT_SECONDS) + random.uniform(0, 0.25)  # noqa: S311
    backoff = min(BACKOFF_SECONDS * 2**failures, MAX_BACKOFF_SECONDS)
    return backoff * random.uniform(0.75, 1.0)  # noqa: S311 - jitter, not crypto


def _retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now, whether Sales sent seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError, IndexError):
        return None


def _target(group: str | None, user: str | None) -> dict[str, str]:
    """A transfer's destination: a group, a user, or both as the seed's example sends (L622-L624)."""
    if not group and not user:
        raise ValueError("transfer to a group, a user or both")
    target = {"group": require_id(group, "group id")} if group else {}
    return {**target, "user": require_id(user, "user id")} if user else target


MAX_SALES_MESSAGE = 500


def _sales_message(response: requests.Response) -> tuple[str, str | None]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}", None
    if isinstance(body, dict):
        message = str(body.get("message") or f"HTTP {response.status_code}")[:MAX_SALES_MESSAGE]
        code = body.get("code")
        return message, code if isinstance(code, str) else None
    return f"HTTP {response.status_code}", None


__all__ = ["SalesClient", "SalesError"]
