"""Lifecycle endpoints Sales calls: thin views over ``LifecycleService``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from ..errors import ApiError
from ..http import invalid_fields, load, read_json_object, single_arg
from ..openapi import documented
from . import settings_form
from .auth import check_body_credentials, require_client_credentials
from .schemas import (
    API_KEY_RULES,
    ApiKeyRefreshSchema,
    EnabledSchema,
    InstallSchema,
    LanguageQuerySchema,
    SettingsFormSchema,
    SettingsSchema,
    SuccessSchema,
)
from .service import LifecycleService
from .strict_fields import StrictString

bp = Blueprint("lifecycle", __name__, url_prefix="/lifecycle")
bp.before_request(require_client_credentials)

TAGS = ("lifecycle",)
CLIENT = ("appId", "appSecret")
INSTANCE = (("appId", "appSecret", "instanceKey"),)
COMMON_ERRORS = (400, 401, 404)
BODY_ERRORS = (400, 401, 404, 413, 415, 422)


_API_KEY_FIELD = StrictString(validate=API_KEY_RULES)


def _service() -> LifecycleService:
    return current_app.extensions["zapp"].lifecycle


def _instance_key() -> str:
    """The instance's API key from ``api-key`` (or ``X-Api-Key``); never logged, never echoed."""
    from_query = single_arg("api-key")
    from_header = request.headers.get("X-Api-Key")
    if from_query and from_header and from_query != from_header:
        raise ApiError(400, "The api-key parameter and the X-Api-Key header disagree.")
    key = from_query or from_header
    if not key:
        raise ApiError(
            400,
            "Give the instance's API key as the api-key query parameter.",
            code="missing_api_key",
        )
    try:
        _API_KEY_FIELD.deserialize(key)
    except ValidationError:
        raise ApiError(
            400, "The api-key parameter is not a valid API key.", code="malformed_api_key"
        ) from None
    return key


def _success(status: int = 200):
    return jsonify(SuccessSchema().dump({"success": True})), status


@bp.post("/install")
@documented(
    summary="Install the App for an account",
    tags=TAGS,
    body=InstallSchema,
    responses={200: SuccessSchema, 201: SuccessSchema},
    errors=(400, 401, 413, 415, 422),
    security=((*CLIENT,), ()),
)
def install():
    data = load(InstallSchema(), read_json_object())
    check_body_credentials(data["appId"], data["appSecret"])
    integration = data["integration"]
    result = _service().install(integration["apiKey"], integration["enabled"])
    return _success(201 if result.created else 200)


@bp.get("/settings-form")
@documented(
    summary="The settings form, localized (en, es, pt)",
    tags=TAGS,
    query=LanguageQuerySchema,
    responses={200: SettingsFormSchema},
    errors=COMMON_ERRORS,
    security=INSTANCE,
)
def settings_form_view():
    _service().instance_id_for_key(_instance_key())
    lang = single_arg("lang")
    language = load(LanguageQuerySchema(), {} if lang is None else {"lang": lang}).get("lang")
    return jsonify(SettingsFormSchema().dump(settings_form.render_form(language)))


@bp.get("/settings")
@documented(
    summary="The instance's settings, defaults filled in",
    tags=TAGS,
    responses={200: SettingsSchema},
    errors=COMMON_ERRORS,
    security=INSTANCE,
)
def get_settings():
    return jsonify(SettingsSchema().dump(_service().settings(_instance_key())))


@bp.put("/settings")
@documented(
    summary="Merge changed settings",
    tags=TAGS,
    body=SettingsSchema,
    responses={200: SettingsSchema},
    errors=BODY_ERRORS,
    security=INSTANCE,
)
def put_settings():
    key = _instance_key()
    changes = read_json_object()
    try:
        merged = _service().update_settings(key, changes)
    except ValidationError as error:
        raise invalid_fields(error) from None
    return jsonify(SettingsSchema().dump(merged))


@bp.put("/enabled")
@documented(
    summary="Enable or disable the instance",
    tags=TAGS,
    body=EnabledSchema,
    responses={200: SuccessSchema},
    errors=BODY_ERRORS,
    security=INSTANCE,
)
def put_enabled():
    key = _instance_key()
    data = load(EnabledSchema(), read_json_object())
    _service().set_enabled(key, data["enabled"])
    return _success()


@bp.put("/api-key")
@documented(
    summary="Replace the instance's API key; the old one is dead at once",
    tags=TAGS,
    body=ApiKeyRefreshSchema,
    responses={200: SuccessSchema},
    errors=BODY_ERRORS,
    security=INSTANCE,
)
def put_api_key():
    key = _instance_key()
    data = load(ApiKeyRefreshSchema(), read_json_object())
    _service().refresh_key(key, data["newApiKey"])
    return _success()


@bp.delete("")
@documented(
    summary="Delete the instance (logical delete; key material destroyed)",
    tags=TAGS,
    responses={200: SuccessSchema},
    errors=COMMON_ERRORS,
    security=INSTANCE,
)
def delete_instance():
    _service().delete(_instance_key())
    return _success()
