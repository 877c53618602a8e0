"""Calling Sales from a page's follow-up: the installation's key, one time budget for every call the
request makes (``ZAPP_SALES_REQUEST_BUDGET``), and Sales' errors as page refusals."""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

from flask import current_app

from ..sales import SalesClient
from ..sales.deadline import call_budget
from ..sales.errors import BudgetSpent, InvalidId, NotFound, RateLimited, SalesError, Timeout, Unavailable
from ..vault import VaultError
from .instances import ResolvedInstance, require_prospect_in_instance
from .refusals import (
    BadParameters,
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
    if instance.key_ciphertext is None or instance.key_index is None:
        raise UnknownInstance("the installation has no key")
    try:
        api_key = zapp.vault.decrypt(instance.key_ciphertext)
    except VaultError:
        log.error(
            "installation %s: its key cannot be decrypted with ZAPP_ENCRYPTION_KEYS", instance.public_id
        )
        raise SalesUnavailable("key not decryptable") from None
    try:
        with call_budget(zapp.config.sales_request_budget):
            yield zapp.sales_client(api_key, instance.key_index)
    except SalesError as error:
        raise _refusal_for(error, instance, not_found) from None


def _refusal_for(error: SalesError, instance: ResolvedInstance, not_found: type[PageRefusal]) -> PageRefusal:
    if isinstance(error, NotFound):
        return not_found("Sales answered 404")
    if isinstance(error, InvalidId):
        return BadParameters(str(error))
    log.warning("installation %s: Sales call failed: %s", instance.public_id, error)
    retry_after = math.ceil(error.retry_after) if error.retry_after else None
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
