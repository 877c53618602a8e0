"""``@report_page``, the machinery the manager reports will be built on, exercised on a route of its own."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify

from tests.pages.conftest import object_id, sign
from zapp import create_app
from zapp.pages.context import context_tokens
from zapp.pages.extension_points import Page, report_page
from zapp.pages.registry import REPORT, ExtensionRegistry


@pytest.fixture
def report_app(app_env):
    """An app with one extra report, defined on a blueprint and registry of its own."""
    application = create_app(app_env)
    blueprint, registry = Blueprint("probe_reports", __name__), ExtensionRegistry()

    @report_page(
        "probe",
        name="Probe",
        summary="A report for tests",
        reads=("agent",),
        blueprint=blueprint,
        registry=registry,
    )
    def probe(page: Page):
        return jsonify(
            {
                "context": page.context_token,
                "group": page.group.group_id,
                "user": page.user,
                "prospect": page.prospect,
                "params": dict(page.params),
                "language": page.language,
            }
        )

    application.register_blueprint(blueprint)
    application.config["probe_registry"] = registry
    yield application
    application.extensions["zapp"].database.dispose()


def sales_appends(group: str, parent: str, range_: str = "custom") -> str:
    """What Sales adds to every report URL, in the seed's order."""
    return f"range={range_}&start=2026-01-01&end=2026-01-31&group={group}&parentGroup={parent}"


def test_a_signed_report_opens_with_a_token_that_names_no_prospect(report_app, installed):
    user = object_id()
    target = f"/reports/probe?lang=es&user={user}&{sales_appends(installed.groups[1], installed.group)}"
    response = report_app.test_client().get(sign(target))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert (body["group"], body["user"], body["prospect"], body["language"]) == (
        installed.groups[1],
        user,
        None,
        "es",
    )
    assert body["params"] == {
        "range": "custom",
        "start": "2026-01-01",
        "end": "2026-01-31",
        "parentGroup": installed.group,
    }
    with report_app.app_context():
        context = context_tokens().read(body["context"])
    assert context.purpose == "report:probe" and context.prospect is None


def test_a_prospect_in_a_report_url_is_never_bound_to_its_token(report_app, installed):
    target = f"/reports/probe?prospect={object_id()}&{sales_appends(installed.group, installed.group)}"
    body = report_app.test_client().get(sign(target)).json
    with report_app.app_context():
        assert context_tokens().read(body["context"]).prospect is None


@pytest.mark.parametrize("name", ["range", "start", "parentGroup", "agent"])
def test_report_parameters_given_twice_are_refused(report_app, installed, name):
    target = f"/reports/probe?{sales_appends(installed.group, installed.group)}&agent=a&{name}=x"
    assert report_app.test_client().get(sign(target)).status_code == 400


def test_a_malformed_parent_group_is_refused(report_app, installed):
    target = f"/reports/probe?{sales_appends(installed.group, 'not-a-group')}"
    assert report_app.test_client().get(sign(target)).status_code == 400


def test_an_unsigned_report_is_refused(report_app, installed):
    target = f"/reports/probe?{sales_appends(installed.group, installed.group)}"
    assert report_app.test_client().get(target).status_code == 403


def test_the_report_is_in_its_registry_with_the_default_placeholders(report_app):
    (point,) = report_app.config["probe_registry"].registered(REPORT)
    assert (point.key, point.path, point.purpose) == ("probe", "/reports/probe", "report:probe")
    assert point.query == "lang=${group.language}&user=${user._id}"
