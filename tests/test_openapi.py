"""``/openapi.json`` describes every route, and the app keeps every promise it makes there."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import APP_ID, APP_SECRET
from zapp.openapi import undocumented_endpoints

CREDS = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_route_is_documented(app):
    assert undocumented_endpoints(app) == []


def test_spec_covers_the_lifecycle_contract(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {
        "/lifecycle/install",
        "/lifecycle/settings-form",
        "/lifecycle/settings",
        "/lifecycle/enabled",
        "/lifecycle/api-key",
        "/lifecycle",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])
    settings_schema = spec["components"]["schemas"]["Settings"]
    assert "automaticReplyEnabled" in settings_schema["properties"]


def test_no_5xx_and_no_response_breaks_the_spec(app):
    """schemathesis generates requests for every operation, with and without credentials."""
    key = "schemathesis-key"
    app.extensions["zapp"].lifecycle.install(key, True)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:
        _exercise(operation, None if operation.path == "/lifecycle/install" else {"api-key": key})


def _exercise(operation, params):
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def exercise(case):
        case.call_and_validate(headers=CREDS, params=params, checks=CHECKS)
        case.call_and_validate(checks=CHECKS)  # as a stranger: refusals keep the promises too

    exercise()
