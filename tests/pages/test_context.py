"""Context tokens: minted by a signed page, demanded by its follow-up calls, bound to what they were for."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask import Blueprint, jsonify
from itsdangerous import BadSignature, URLSafeTimedSerializer

from tests.pages.conftest import object_id, page_data, sign
from zapp import create_app
from zapp.models import Instance, InstanceState
from zapp.pages.context import (
    CONTEXT_HEADER,
    ContextTokens,
    FollowUp,
    PageContext,
    context_tokens,
    require_context,
)
from zapp.pages.refusals import ContextMissing

KEYS = ("current-signing-key-01",)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def a_context(**changes) -> PageContext:
    values = {
        "instance": "a" * 32,
        "group": object_id(),
        "purpose": "dialog:timeline",
        "user": object_id(),
        "prospect": object_id(),
        "language": "pt",
    }
    return PageContext(**{**values, **changes})


# -- the tokens themselves --------------------------------------------------------------------------


def test_a_token_carries_back_exactly_what_it_was_minted_for():
    context = a_context()
    tokens = ContextTokens(KEYS)
    assert tokens.read(tokens.mint(context)) == context


def test_every_token_has_a_fresh_nonce_of_at_least_128_bits():
    tokens = ContextTokens(KEYS)
    context = a_context()
    first, second = tokens.mint(context), tokens.mint(context)
    assert first != second
    payload = URLSafeTimedSerializer(b"unused").loads_unsafe(first)[1]
    assert len(payload["n"]) >= 22  # 16 random bytes, url-safe base64


def test_a_token_lives_fifteen_minutes():
    tokens = ContextTokens(KEYS)
    with time_machine.travel(NOW, tick=False) as clock:
        token = tokens.mint(a_context())
        clock.shift(timedelta(minutes=14, seconds=59))
        tokens.read(token)
        clock.shift(timedelta(seconds=2))
        with pytest.raises(ContextMissing, match="expired"):
            tokens.read(token)


@pytest.mark.parametrize("token", [None, "", "garbage", "a.b.c", "x" * 3000])
def test_no_token_or_a_malformed_one_is_refused(token):
    with pytest.raises(ContextMissing):
        ContextTokens(KEYS).read(token)


def test_a_token_changed_by_one_character_is_refused():
    token = ContextTokens(KEYS).mint(a_context())
    for position in range(0, len(token), 7):
        changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        with pytest.raises(ContextMissing):
            ContextTokens(KEYS).read(changed)


def test_a_token_of_another_deployment_is_refused():
    token = ContextTokens(("another-deployment-key",)).mint(a_context())
    with pytest.raises(ContextMissing, match="invalid"):
        ContextTokens(KEYS).read(token)


def test_tokens_survive_a_signing_key_rotation():
    token = ContextTokens(KEYS).mint(a_context())
    assert ContextTokens(("the-next-signing-key", *KEYS)).read(token).purpose == "dialog:timeline"


def test_a_token_is_not_keyed_with_the_signing_key_itself():
    token = ContextTokens(KEYS).mint(a_context())
    with pytest.raises(BadSignature):
        URLSafeTimedSerializer(KEYS[0], salt="zapp.pages.context.v1").loads(token)


# -- follow-up calls through the real timeline data route ------------------------------------------------


@pytest.fixture
def opened(client, installed, timeline_target):
    """A timeline dialog opened by a signed URL: its prospect, data URL and token."""
    prospect = object_id()
    data = page_data(client.get(sign(timeline_target(installed.group, prospect))))
    return prospect, data["urls"]["data"], data["context"]


def mint(app, **changes) -> str:
    with app.app_context():
        return context_tokens().mint(a_context(**changes))


def test_a_follow_up_without_a_token_gets_401_json(client, opened):
    _, url, _ = opened
    response = client.get(url)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "context_missing"


def test_a_follow_up_with_a_forged_token_gets_401(client, opened):
    _, url, token = opened
    forged = token[:-2] + ("yy" if token.endswith("xx") else "xx")
    assert client.get(url, headers={CONTEXT_HEADER: forged}).status_code == 401


def test_a_follow_up_after_fifteen_minutes_gets_401(client, installed, timeline_target):
    with time_machine.travel(NOW, tick=False) as clock:
        data = page_data(client.get(sign(timeline_target(installed.group))))
        clock.shift(timedelta(minutes=16))
        response = client.get(data["urls"]["data"], headers={CONTEXT_HEADER: data["context"]})
    assert response.status_code == 401


def test_a_report_token_cannot_act_on_a_dialog(app, client, installed, opened):
    prospect, url, _ = opened
    token = mint(
        app,
        instance=installed.public_id,
        group=installed.group,
        purpose="report:speed-to-lead",
        prospect=None,
    )
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == 403 and response.json["error"]["code"] == "context_mismatch"


def test_a_token_for_another_prospect_gets_403(client, installed, timeline_target, opened):
    _, url, _ = opened
    other = page_data(client.get(sign(timeline_target(installed.group))))["context"]
    assert client.get(url, headers={CONTEXT_HEADER: other}).status_code == 403


def test_a_token_naming_another_installations_group_gets_403(app, client, installed, make_instance, opened):
    prospect, url, _ = opened
    other = make_instance()
    token = mint(app, instance=installed.public_id, group=other.group, prospect=prospect)
    assert client.get(url, headers={CONTEXT_HEADER: token}).status_code == 403


def test_an_installation_disabled_since_the_page_opened_refuses_its_follow_ups(
    app, client, installed, opened
):
    _, url, token = opened
    _set_state(app, installed.id, InstanceState.DISABLED.value)
    response = client.get(url, headers={CONTEXT_HEADER: token})
    assert response.status_code == 403 and response.json["error"]["code"] == "instance_disabled"


def test_an_installation_deleted_since_the_page_opened_is_gone(app, client, installed, opened):
    _, url, token = opened
    _set_state(app, installed.id, InstanceState.DELETED.value)
    assert client.get(url, headers={CONTEXT_HEADER: token}).status_code == 404


def test_refusals_speak_the_page_language(client, installed, timeline_target):
    data = page_data(client.get(sign(timeline_target(installed.group, lang="pt"))))
    response = client.get(data["urls"]["data"] + "x", headers={CONTEXT_HEADER: data["context"]})
    assert response.status_code == 400 and "novamente" in response.json["error"]["message"]


def _set_state(app, instance_id: int, state: str) -> None:
    with app.extensions["zapp"].database.transaction() as session:
        session.get(Instance, instance_id).state = state


# -- require_context on endpoints that take a body ---------------------------------------------------------


@pytest.fixture
def probe(app_env):
    """An app with follow-up endpoints of every kind ``require_context`` supports."""
    application = create_app(app_env)
    probes = Blueprint("probe", __name__)

    def answer(followup: FollowUp, *_args, **_kwargs):
        return jsonify({"prospect": followup.context.prospect, "instance": followup.instance.public_id})

    for rule, guard in [
        ("/probe/json", require_context("dialog:timeline", prospect_from="json:prospect")),
        ("/probe/form", require_context("dialog:timeline", prospect_from="form:prospect")),
        ("/probe/<prospect_id>/path", require_context("dialog:timeline", prospect_from="path:prospect_id")),
        ("/probe/any", require_context(("dialog:timeline", "report:speed-to-lead"))),
    ]:
        probes.add_url_rule(rule, endpoint=rule, view_func=guard(answer), methods=["POST"])
    application.register_blueprint(probes)
    yield application
    application.extensions["zapp"].database.dispose()


@pytest.fixture
def probe_token(probe, make_instance):
    instance = make_instance()
    prospect = object_id()
    token = mint(probe, instance=instance.public_id, group=instance.group, prospect=prospect)
    return instance, prospect, token


def test_the_prospect_a_body_names_must_be_the_tokens(probe, probe_token):
    instance, prospect, token = probe_token
    client = probe.test_client()
    ok = client.post("/probe/json", json={"prospect": prospect}, headers={CONTEXT_HEADER: token})
    assert ok.status_code == 200 and ok.json == {"prospect": prospect, "instance": instance.public_id}
    other = client.post("/probe/json", json={"prospect": object_id()}, headers={CONTEXT_HEADER: token})
    assert other.status_code == 403
    missing = client.post("/probe/json", json={}, headers={CONTEXT_HEADER: token})
    assert missing.status_code == 400


def test_multipart_and_path_prospects_are_checked_too(probe, probe_token):
    _, prospect, token = probe_token
    client = probe.test_client()
    upload = {"prospect": prospect, "file": (io.BytesIO(b"%PDF-1.4"), "quote.pdf")}
    assert client.post("/probe/form", data=upload, headers={CONTEXT_HEADER: token}).status_code == 200
    assert client.post(f"/probe/{prospect}/path", headers={CONTEXT_HEADER: token}).status_code == 200
    assert client.post(f"/probe/{object_id()}/path", headers={CONTEXT_HEADER: token}).status_code == 403


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", "prospect=x"), ("application/x-www-form-urlencoded", "prospect=x")],
)
def test_bodies_that_are_not_json_or_multipart_get_415(probe, probe_token, content_type, body):
    _, _, token = probe_token
    response = probe.test_client().post(
        "/probe/any", data=body, content_type=content_type, headers={CONTEXT_HEADER: token}
    )
    assert response.status_code == 415


def test_a_report_token_can_call_report_endpoints_but_never_transfer_a_prospect(probe, make_instance):
    instance = make_instance()
    token = mint(
        probe,
        instance=instance.public_id,
        group=instance.group,
        purpose="report:speed-to-lead",
        prospect=None,
    )
    client = probe.test_client()
    assert client.post("/probe/any", json={}, headers={CONTEXT_HEADER: token}).status_code == 200
    transfer = client.post("/probe/json", json={"prospect": object_id()}, headers={CONTEXT_HEADER: token})
    assert transfer.status_code == 403


def test_a_token_is_checked_before_anything_else(probe):
    response = probe.test_client().post("/probe/json", data="not json", content_type="text/plain")
    assert response.status_code == 401


def test_prospect_from_must_name_a_known_source():
    with pytest.raises(ValueError, match="prospect_from"):
        require_context("dialog:timeline", prospect_from="cookie:prospect")
