"""Client credentials: the first thing every lifecycle call must get past.

Sales sends the App's client id and secret as ``X-App-Id``/``X-App-Secret``
headers (on install, ``appId``/``appSecret`` in the body are accepted too).
Every candidate secret is compared in constant time, all of them every time,
so neither timing nor the position of a rotated secret tells anything.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from flask import current_app, g, request

from ..errors import ApiError
from ..http import read_json_object


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def credentials_match(
    app_id: str | None, secret: str | None, expected_id: str, secrets: Sequence[str]
) -> bool:
    if not app_id or not secret:
        return False
    id_ok = _equal(app_id, expected_id)
    secret_ok = False
    for candidate in secrets:
        secret_ok |= _equal(secret, candidate)
    return id_ok and secret_ok


def _refuse() -> ApiError:
    return ApiError(
        401,
        "Missing or wrong client credentials: send X-App-Id and X-App-Secret as issued by Sales.",
        code="bad_credentials",
    )


def _body_credentials() -> tuple[str | None, str | None]:
    """On install, credentials may come in the body; an unreadable body authenticates nothing."""
    try:
        body = read_json_object()
    except ApiError:
        return None, None
    app_id, secret = body.get("appId"), body.get("appSecret")
    return (
        app_id if isinstance(app_id, str) else None,
        secret if isinstance(secret, str) else None,
    )


def require_client_credentials() -> None:
    """``before_request`` of the lifecycle blueprint: 401 unless the caller is Sales."""
    config = current_app.extensions["zapp"].config
    app_id = request.headers.get("X-App-Id")
    secret = request.headers.get("X-App-Secret")
    if app_id is None and secret is None and request.endpoint == "lifecycle.install":
        app_id, secret = _body_credentials()
    if not credentials_match(app_id, secret, config.app_id, config.app_secrets):
        raise _refuse()
    g.client_authenticated = True


def check_body_credentials(app_id: str | None, secret: str | None) -> None:
    """Credentials repeated in an install body must be right too; a mismatch is refused."""
    config = current_app.extensions["zapp"].config
    if app_id is None and secret is None:
        return
    if not credentials_match(app_id, secret, config.app_id, config.app_secrets):
        raise _refuse()
