"""``/openapi.json``, generated from the marshmallow schemas the views use.

Views declare what they take and answer with ``@documented``; the spec is
built from the URL map, so a route cannot be added without being described
(a test walks the map and fails on an undocumented route).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from .schemas import ErrorSchema

OPENAPI_VERSION = "3.0.3"
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
UNDOCUMENTED_ENDPOINTS = {"static"}

SECURITY_SCHEMES = {
    "appId": {"type": "apiKey", "in": "header", "name": "X-App-Id"},
    "appSecret": {"type": "apiKey", "in": "header", "name": "X-App-Secret"},
    "instanceKey": {"type": "apiKey", "in": "query", "name": "api-key"},
}

_ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing or wrong credentials",
    403: "Forbidden",
    404: "Unknown resource",
    413: "Body larger than 1 MiB",
    415: "Body is not JSON",
    422: "Invalid fields",
    503: "Temporarily unavailable",
}


def documented(
    *,
    summary: str,
    tags: tuple[str, ...] = (),
    body: Any = None,
    query: Any = None,
    responses: dict[int, Any] | None = None,
    errors: tuple[int, ...] = (),
    security: tuple[tuple[str, ...], ...] = (),
    content_type: str = "application/json",
) -> Callable:
    """Attach an OpenAPI operation to a view; ``responses`` maps status to a schema (or None)."""

    def decorate(view: Callable) -> Callable:
        view.__openapi__ = {  # type: ignore[attr-defined]
            "summary": summary,
            "tags": list(tags),
            "body": body,
            "query": query,
            "responses": responses or {},
            "errors": errors,
            "security": security,
            "content_type": content_type,
        }
        return view

    return decorate


def _operation(meta: dict[str, Any], path_params: list[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": meta["summary"], "tags": meta["tags"], "responses": {}}
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True, "schema": {"type": "string"}} for name in path_params
    ]
    if meta["query"] is not None:
        parameters.append({"in": "query", "schema": meta["query"]})
    if parameters:
        operation["parameters"] = parameters
    if meta["body"] is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {meta["content_type"]: {"schema": meta["body"]}},
        }
    for status, schema in meta["responses"].items():
        response: dict[str, Any] = {"description": "Success" if status < 300 else str(status)}
        if schema is not None:
            response["content"] = {"application/json": {"schema": schema}}
        operation["responses"][str(status)] = response
    for status in meta["errors"]:
        operation["responses"][str(status)] = {
            "description": _ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": ErrorSchema}},
        }
    if meta["security"]:
        operation["security"] = [{name: [] for name in group} for group in meta["security"]]
    return operation


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="zapp",
        version=app.config.get("ZAPP_VERSION", "0"),
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "A Zenvia Sales App: lifecycle, extension pages and webhooks."},
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if meta is None:
            continue
        path = _RULE_ARGUMENT.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(meta, list(rule.arguments))
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def undocumented_endpoints(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDOCUMENTED_ENDPOINTS
        and not rule.endpoint.startswith("sandbox")
        and getattr(app.view_functions[rule.endpoint], "__openapi__", None) is None
    )
