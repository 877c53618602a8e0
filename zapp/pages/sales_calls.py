"""Calling Sales from a page's follow-up: the installation's client, one time budget for every call the
request makes (``ZAPP_SALES_REQUEST_BUDGET``), and Sales' errors as page refusals."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

from flask import current_app

from ..db import Database
from ..installations.errors import KeyUnreadable
from ..installations.lookup import ResolvedInstance, covers_group
from ..sales import SalesClient
from ..sales.deadline import call_budget
from ..sales.errors import (
    BudgetSpent,
    BudgetUnavailable,
    InvalidId,
    NotFound,
    RateLimited,
    SalesError,
    Timeout,
    Unavailable,
)
from .refusals import (
    AppRecovering,
    BadParameters,
    ForeignProspect,
    PageRefusal,
    SalesRefused,
    SalesTimeout,
    SalesUnavailable,
    UnknownInstance,
)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def sales_client_for(
    instance: ResolvedInstance, *, not_found: type[PageRefusal] = UnknownInstance
) -> Iterator[SalesClient]:
    """The Sales client of ``instance``'s key (shared per key by the app: never closed here).

    Every Sales call inside shares one budget, so the request answers well
    before gunicorn's worker timeout however slow Sales is. A ``SalesError``
    raised inside becomes a refusal: ``not_found`` for 404, 504 when Sales did
    not answer in time, 503 (with ``Retry-After``) when it is down or rate
    limiting, 502 when it refuses.
    """
    zapp = current_app.extensions["zapp"]
    try:
        client = zapp.clients.client_for(instance)
    except KeyUnreadable:
        log.error(
            "installation %s: its key cannot be decrypted with ZAPP_ENCRYPTION_KEYS", instance.public_id
        )
        raise SalesUnavailable("key not decryptable") from None
    try:
        with call_budget(zapp.config.sales_request_budget):
            yield client
    except SalesError as error:
        raise _refusal_for(error, instance, not_found) from None


def _refusal_for(error: SalesError, instance: ResolvedInstance, not_found: type[PageRefusal]) -> PageRefusal:
    if isinstance(error, NotFound):
        return not_found("Sales answered 404")
    if isinstance(error, InvalidId):
        return BadParameters(str(error))
    log.warning("installation %s: Sales call failed: %s", instance.public_id, error)
    retry_after = math.ceil(error.retry_after) if error.retry_after else None
    if isinstance(error, BudgetUnavailable):
        return AppRecovering(type(error).__name__, retry_after=retry_after)
    if isinstance(error, Timeout | BudgetSpent):
        return SalesTimeout(type(error).__name__, retry_after=retry_after)
    if isinstance(error, Unavailable | RateLimited):
        return SalesUnavailable(type(error).__name__, retry_after=retry_after)
    return SalesRefused(f"Sales answered {error.status}")


def checked_prospect(client: SalesClient, instance: ResolvedInstance, prospect_id: str) -> dict[str, Any]:
    """Sales' prospect, refused (403) unless one of the installation's groups holds it."""
    prospect = client.get_prospect(prospect_id)
    prospect = prospect if isinstance(prospect, dict) else {}
    require_prospect_in_instance(current_app.extensions["zapp"].database, instance, prospect)
    return prospect


def require_prospect_in_instance(
    database: Database, instance: ResolvedInstance, prospect: Mapping[str, Any]
) -> None:
    """Refuse (403) a Sales prospect whose group this installation does not cover.

    Dialogs act on the prospect Sales hands them; this keeps a token of one
    account from ever reaching another account's contact, whatever Sales'
    own scoping does.
    """
    if not covers_group(database, instance, prospect_group_id(prospect)):
        raise ForeignProspect("the prospect's group is outside the installation")


def prospect_group_id(prospect: Mapping[str, Any]) -> str | None:
    """The prospect's group id: ``groupId``, or ``group`` when Sales sends it as an id or an object."""
    group = prospect.get("groupId") or prospect.get("group")
    if isinstance(group, Mapping):
        group = group.get("id") or group.get("_id")
    return group if isinstance(group, str) else None
