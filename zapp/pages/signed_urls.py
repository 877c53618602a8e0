"""Checking the ``signature`` Sales adds to every extension-point URL.

Sales signs the URL string it requests: hex HMAC-SHA256 under the App's
private key, over the whole URL without the ``signature`` pair (the seed
shows Node's ``crypto.createHmac``). So the one safe way to check it is to
rebuild that exact string: ``ZAPP_PUBLIC_URL`` plus the path and query *as
received*, with the ``signature`` pair cut out as text. Nothing is parsed and
re-encoded (``+``, ``%2F``, empty values, parameter order and raw UTF-8 all
matter), and scheme and host come from configuration, never from request
headers.

This module knows nothing of Flask: it reads a WSGI environ and answers
with an exception naming why a URL was refused (never the signature itself).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote_to_bytes

SIGNATURE_PARAMETER = b"signature"
# Node's digest("hex") is lowercase; anything else is not what Sales sent.
_HEX_SIGNATURE = re.compile(rb"[0-9a-f]{64}")
_ABSOLUTE_FORM = re.compile(rb"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")
# What a path keeps unencoded when it has to be rebuilt from PATH_INFO (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class SignatureRejected(Exception):
    """The URL is not one Sales signed; ``reason`` is safe to log, it never holds the signature."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def raw_request_target(environ: Mapping[str, Any]) -> bytes:
    """The path and query the client sent, byte for byte.

    gunicorn puts the request target in ``RAW_URI`` and werkzeug's server in
    ``REQUEST_URI``; WSGI carries them as latin-1 strings, so encoding back to
    latin-1 gives the original bytes. A server that leaves the query out of
    them still passes it untouched in ``QUERY_STRING``. Only a server with
    neither falls back to re-quoting ``PATH_INFO``.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    try:
        if raw:
            target = _origin_form(raw.encode("latin-1"))
            query = environ.get("QUERY_STRING") or ""
            if b"?" not in target and query:
                target += b"?" + query.encode("latin-1")
            return target
        return _rebuilt_target(environ)
    except UnicodeEncodeError:
        raise SignatureRejected("request target is not a WSGI byte string") from None


def _origin_form(target: bytes) -> bytes:
    """``http://host/p?q`` (absolute form, RFC 9112 3.2.2) → ``/p?q``: the host is never part of the check."""
    match = _ABSOLUTE_FORM.match(target)
    if match is None:
        return target
    rest = target[match.end() :]
    return rest if rest.startswith(b"/") else b"/" + rest


def _rebuilt_target(environ: Mapping[str, Any]) -> bytes:
    path = (environ.get("SCRIPT_NAME") or "") + (environ.get("PATH_INFO") or "")
    target = quote(path.encode("latin-1"), safe=_PATH_SAFE).encode("ascii")
    query = environ.get("QUERY_STRING") or ""
    return target + b"?" + query.encode("latin-1") if query else target


def split_signature(target: bytes) -> tuple[bytes, bytes]:
    """``(target without the signature pair, the signature)``; refuse none, several or an empty one.

    The pair is found by its literal name; a name that only *decodes* to
    ``signature`` (``%73ignature``) still counts towards "exactly one", since
    a framework reading the query would see two.
    """
    path, question_mark, query = target.partition(b"?")
    if not question_mark:
        raise SignatureRejected("no signature parameter")
    pairs = query.split(b"&")
    literal = [index for index, pair in enumerate(pairs) if _name(pair) == SIGNATURE_PARAMETER]
    decoded = [pair for pair in pairs if _decoded_name(pair) == SIGNATURE_PARAMETER]
    if not literal:
        raise SignatureRejected("no signature parameter")
    if len(literal) > 1 or len(decoded) > 1:
        raise SignatureRejected("more than one signature parameter")
    index = literal[0]
    signature = pairs[index].partition(b"=")[2]
    rest = pairs[:index] + pairs[index + 1 :]
    return (path + b"?" + b"&".join(rest) if rest else path), signature


def _name(pair: bytes) -> bytes:
    return pair.partition(b"=")[0]


def _decoded_name(pair: bytes) -> bytes:
    return unquote_to_bytes(_name(pair).replace(b"+", b" "))


def signed_message(public_url: str, unsigned_target: bytes) -> bytes:
    """The string Sales signed: the public base URL (UTF-8, as Node encodes it) and the raw target."""
    return public_url.rstrip("/").encode("utf-8") + unsigned_target


def compute_signature(key: str, message: bytes) -> str:
    """Hex HMAC-SHA256, as ``crypto.createHmac('sha256', key).update(url).digest('hex')``."""
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signed_target(public_url: str, target: bytes, keys: Sequence[str]) -> None:
    """Return quietly when ``target`` carries a valid signature under one of ``keys``; raise otherwise.

    Every key is tried (current first, earlier ones during a rotation) with a
    constant-time comparison and no early exit, so timing tells nothing about
    the signature or which key matched.
    """
    if not public_url:
        raise SignatureRejected("ZAPP_PUBLIC_URL is not set, so no signed URL can be checked")
    unsigned, signature = split_signature(target)
    if not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureRejected("signature is not 64 lowercase hexadecimal digits")
    message = signed_message(public_url, unsigned)
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(compute_signature(key, message).encode("ascii"), signature)
    if not matched:
        raise SignatureRejected("signature does not match the URL")


def verify_environ(environ: Mapping[str, Any], public_url: str, keys: Sequence[str]) -> None:
    """Check the signature of the request an environ describes (see ``verify_signed_target``)."""
    verify_signed_target(public_url, raw_request_target(environ), keys)
