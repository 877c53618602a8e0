"""Context tokens: how a framed page's follow-up calls prove which page they come from.

A signed page load mints a short-lived token (15 minutes) bound to the
installation, group, user, prospect and the page's purpose
(``"dialog:timeline"``, ``"report:speed-to-lead"``) and embeds it in the page.
Follow-up calls send it back in ``X-Zapp-Context``. The token is an
itsdangerous-signed payload with a 128-bit random nonce, keyed by a key
derived from ``ZAPP_SIGNING_KEY`` (every configured key verifies, the current
one signs), so no server state is needed and a key rotation carries over.

No token, a forged one or an expired one: 401. A good token used for another
page, another prospect or an installation that no longer covers its group:
403. A report's token names no prospect, so it can never act on one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

from ..http import read_json_object
from ..i18n import negotiate_language
from ..installations.lookup import ResolvedInstance, load_instance
from ..sales.ids import OBJECT_ID
from .guards import FOLLOW_UP, mark, require_same_site
from .refusals import BadParameters, ContextMismatch, ContextMissing, UnsupportedBody

CONTEXT_HEADER = "X-Zapp-Context"
CONTEXT_MAX_AGE = 15 * 60
MAX_TOKEN_LENGTH = 2048
_SALT = "zapp.pages.context.v1"
_KEY_LABEL = b"zapp page context tokens"
_BODY_TYPES = ("application/json", "multipart/form-data")
_SOURCES = ("query", "json", "form", "path")


@dataclass(frozen=True)
class PageContext:
    """What a page was opened for; ``instance`` is the installation's public id."""

    instance: str
    group: str
    purpose: str
    user: str | None = None
    prospect: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class FollowUp:
    """A follow-up call that passed every check: its context and its (still live) installation."""

    context: PageContext
    instance: ResolvedInstance

    @property
    def prospect_id(self) -> str:
        """The prospect the page's token is bound to (a dialog's); a report's token names none."""
        if self.context.prospect is None:
            raise ContextMismatch("the token names no prospect")
        return self.context.prospect


class _UncompressedSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe serializer without its zlib attempt: a token's payload is a few ids and
    a random nonce, so compressing saved some 60 bytes for a third of the minting time (every page
    open mints one). Tokens read the same either way, compressed ones included."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


class ContextTokens:
    """Mints and reads context tokens; knows nothing of Flask."""

    def __init__(self, signing_keys: Sequence[str], max_age: int = CONTEXT_MAX_AGE) -> None:
        # itsdangerous signs with the last key and accepts all; ours come current first.
        keys = [_derive_key(key) for key in reversed(signing_keys)]
        self._serializer = _UncompressedSerializer(keys, salt=_SALT)
        self.max_age = max_age

    def mint(self, context: PageContext) -> str:
        payload = {
            "i": context.instance,
            "g": context.group,
            "s": context.purpose,
            "u": context.user,
            "p": context.prospect,
            "l": context.language,
            "n": secrets.token_urlsafe(16),
        }
        return self._serializer.dumps(payload)

    def read(self, token: str | None) -> PageContext:
        """The context a token carries; ``ContextMissing`` (401) if absent, forged, malformed or expired."""
        if not token:
            raise ContextMissing("no context token")
        if len(token) > MAX_TOKEN_LENGTH:
            raise ContextMissing("context token too long")
        try:
            payload = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise ContextMissing("context token expired") from None
        except BadSignature:
            raise ContextMissing("context token invalid") from None
        return _context_from(payload)


def _derive_key(signing_key: str) -> bytes:
    """A key of its own for tokens, so a token is never a signature Sales could also have made."""
    return hmac.new(signing_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _context_from(payload: Any) -> PageContext:
    if not isinstance(payload, Mapping):
        raise ContextMissing("context token malformed")
    fields: dict[str, type | tuple[type, ...]] = {
        "i": str, "g": str, "s": str, "u": (str, type(None)), "p": (str, type(None)), "l": str
    }  # fmt: skip
    if any(not isinstance(payload.get(name), kind) for name, kind in fields.items()):
        raise ContextMissing("context token malformed")
    return PageContext(
        instance=payload["i"],
        group=payload["g"],
        purpose=payload["s"],
        user=payload["u"],
        prospect=payload["p"],
        language=negotiate_language(payload["l"]),
    )


# -- Flask side -------------------------------------------------------------------------


def context_tokens() -> ContextTokens:
    return current_app.extensions["zapp_pages"].tokens


def require_context(purpose: str | Sequence[str], prospect_from: str | None = None) -> Callable:
    """Guard a follow-up endpoint: the view is called with a ``FollowUp`` first.

    ``purpose``: the page purpose(s) whose tokens may call it. ``prospect_from``
    (``"query:prospect"``, ``"json:prospect"``, ``"form:prospect"`` or
    ``"path:prospect_id"``): where the request names the prospect it acts on;
    it must be the token's own prospect. Bodies must be JSON or multipart
    (415 otherwise), which also keeps plain HTML forms from other sites out;
    a browser's cross-site call is refused first (``guards.require_same_site``).
    """
    purposes = (purpose,) if isinstance(purpose, str) else tuple(purpose)
    source = _parse_source(prospect_from)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            g.zapp_json = True  # refusals of follow-up calls are JSON, whatever Accept says
            return view(open_followup(purposes, source, kwargs), *args, **kwargs)

        return mark(guarded, FOLLOW_UP)

    return decorate


def open_followup(
    purposes: Sequence[str], source: tuple[str, str] | None, view_args: Mapping[str, Any]
) -> FollowUp:
    """Run every check of ``require_context`` in order: origin, token, purpose, body type, prospect,
    instance."""
    require_same_site()
    context = context_tokens().read(request.headers.get(CONTEXT_HEADER))
    g.page_language = context.language
    if context.purpose not in purposes:
        raise ContextMismatch("token issued for another page")
    _require_body_type()
    if source is not None:
        _require_token_prospect(context, _named_prospect(source, view_args))
    instance = load_instance(current_app.extensions["zapp"].database, context.instance, context.group)
    return FollowUp(context=context, instance=instance)


def _parse_source(spec: str | None) -> tuple[str, str] | None:
    if spec is None:
        return None
    where, _, name = spec.partition(":")
    if where not in _SOURCES or not name:
        raise ValueError(f"prospect_from must be one of {', '.join(s + ':NAME' for s in _SOURCES)}")
    return where, name


def _require_body_type() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if (request.content_length or request.content_type) and request.mimetype not in _BODY_TYPES:
        raise UnsupportedBody(f"body sent as {request.mimetype or 'unknown type'}")


def _named_prospect(source: tuple[str, str], view_args: Mapping[str, Any]) -> str:
    where, name = source
    values: list[Any]
    if where == "path":
        values = [view_args.get(name)]
    elif where == "query":
        values = request.args.getlist(name)
    elif where == "form":
        values = request.form.getlist(name)
    else:
        values = [read_json_object().get(name)]
    if len(values) != 1 or not isinstance(values[0], str) or not OBJECT_ID.fullmatch(values[0]):
        raise BadParameters(f"{name} must be given once, as a Sales id")
    return values[0]


def _require_token_prospect(context: PageContext, named: str) -> None:
    if context.prospect is None or not hmac.compare_digest(context.prospect, named):
        raise ContextMismatch("token issued for another prospect")
