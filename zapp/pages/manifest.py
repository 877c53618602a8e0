"""``GET /manifest.json`` and ``zapp manifest``: the reports, buttons and fields the App offers Sales.

Everything comes from the page registry (only pages the app serves), the
Babel catalogs (names in en, es and pt) and ``ZAPP_PUBLIC_URL`` (absolute
URLs, with Sales' ``${...}`` placeholders left for Sales to fill).
"""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Response, current_app, jsonify
from flask.cli import with_appcontext

from ..custom_fields import PROSPECT_FIELDS, USER_FIELDS, CustomField
from ..errors import error_body
from ..i18n import localizable
from ..openapi import documented
from .blueprint import bp
from .guards import public
from .icons import icon_data_uri
from .registry import BUTTON, REPORT, ExtensionPoint, registered
from .schemas import ManifestSchema


def build_manifest(public_url: str) -> dict[str, Any]:
    """The manifest for an app served at ``public_url``."""
    if not public_url:
        raise ValueError("ZAPP_PUBLIC_URL is not set: the manifest's URLs must be absolute")
    base = public_url.rstrip("/")
    return {
        "reports": [_report(point, base) for point in registered(REPORT)],
        "buttons": [_button(point, base) for point in registered(BUTTON)],
        "fields": {
            "prospect": [_field(f) for f in PROSPECT_FIELDS],
            "user": [_field(f) for f in USER_FIELDS],
        },
    }


def point_url(point: ExtensionPoint, base: str) -> str:
    return f"{base}{point.path}?{point.query}" if point.query else base + point.path


def _report(point: ExtensionPoint, base: str) -> dict[str, Any]:
    return {"key": point.key, "name": localizable(point.name), "url": point_url(point, base)}


def _button(point: ExtensionPoint, base: str) -> dict[str, Any]:
    return {**_report(point, base), "icon": icon_data_uri(point.icon or "")}


def _field(field: CustomField) -> dict[str, Any]:
    return {"key": field.key, "name": localizable(field.name), "type": field.type}


@bp.get("/manifest.json")
@documented(
    summary="The reports, toolbar buttons and custom fields the App offers Sales",
    tags=("pages",),
    responses={200: ManifestSchema},
    errors=(503,),
)
@public
def manifest() -> Response | tuple[Response, int]:
    try:
        data = build_manifest(current_app.extensions["zapp"].config.public_url)
    except ValueError as error:
        return jsonify(error_body(503, str(error))), 503  # a machine asks for it: JSON whatever Accept says
    return jsonify(data)


@click.command("manifest")
@with_appcontext
def manifest_command() -> None:
    """Print the manifest (JSON) to give Sales when registering the App."""
    try:
        data = build_manifest(current_app.extensions["zapp"].config.public_url)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
