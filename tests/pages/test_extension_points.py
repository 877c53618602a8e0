"""A signed page load through the real Timeline route: every check, every refusal, every language."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.pages.conftest import object_id, page_data, sign
from tests.pages.strategies import one_character_changes, queries
from zapp import create_app
from zapp.models import InstanceState
from zapp.pages.context import context_tokens

ROUTE = settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
READ_BY_PAGES = ("group", "user", "prospect", "lang")


def test_a_signed_dialog_opens_with_a_token_for_its_prospect(client, installed, timeline_target, app):
    prospect, user = object_id(), object_id()
    response = client.get(sign(timeline_target(installed.group, prospect, user)))
    assert response.status_code == 200
    data = page_data(response)
    with app.app_context():
        context = context_tokens().read(data["context"])
    assert (context.instance, context.group, context.purpose) == (
        installed.public_id,
        installed.group,
        "dialog:timeline",
    )
    assert (context.prospect, context.user, context.language) == (prospect, user, "en")
    assert data["urls"]["data"] == f"/dialogs/timeline/data?prospect={prospect}"


def test_each_page_load_gets_a_token_of_its_own(client, installed, timeline_target):
    target = sign(timeline_target(installed.group))
    assert page_data(client.get(target))["context"] != page_data(client.get(target))["context"]


def test_a_subgroup_of_the_installation_opens_it_too(client, installed, timeline_target):
    assert client.get(sign(timeline_target(installed.groups[1]))).status_code == 200


@ROUTE
@given(extra=queries(reserved=READ_BY_PAGES))
def test_generated_urls_signed_as_the_seed_says_open_the_page(client, installed, timeline_target, extra):
    target = timeline_target(installed.group) + (f"&{extra}" if extra else "")
    assert client.get(sign(target)).status_code == 200


@ROUTE
@given(extra=queries(reserved=READ_BY_PAGES), data=st.data())
def test_generated_urls_changed_by_one_character_are_refused(client, installed, timeline_target, extra, data):
    signed = sign(timeline_target(installed.group) + (f"&{extra}" if extra else ""))
    path, _, query = signed.partition("?")
    changed = one_character_changes(data.draw, query)
    # A browser never sends "#" on; Flask's test client silently drops tabs and line breaks
    # (urlsplit does), so with those the request that arrives is not the changed one.
    assume(changed != query and not any(character in changed for character in "#\t\r\n"))
    assert client.get(f"{path}?{changed}").status_code in (403, 400)


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix",
    ["", "&signature=", "&signature=abc", "&signature=" + "z" * 64, "&signature=" + "0" * 64],
)
def test_missing_short_non_hex_or_wrong_signatures_get_403(client, installed, timeline_target, suffix):
    response = client.get(timeline_target(installed.group) + suffix)
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Open it again from Zenvia Sales" in response.get_data(as_text=True)


def test_two_signatures_get_403(client, installed, timeline_target):
    signed = sign(timeline_target(installed.group))
    assert client.get(signed + "&signature=" + signed.rpartition("=")[2]).status_code == 403


def test_the_refusal_reveals_nothing_about_the_installation(
    client, installed, timeline_target, make_instance
):
    disabled = make_instance(state=InstanceState.DISABLED.value)
    bodies = {
        client.get(timeline_target(group) + "&signature=" + "0" * 64).get_data(as_text=True)
        for group in (installed.group, disabled.group, object_id())
    }
    assert len(bodies) == 1


def test_a_signature_made_with_the_previous_key_is_accepted_during_rotation(
    app_env, installed, timeline_target
):
    rotated = create_app({**app_env, "ZAPP_SIGNING_KEY": "a-brand-new-key-0001,test-signing-key-9b2d4a7e"})
    try:
        client = rotated.test_client()
        assert client.get(sign(timeline_target(installed.group))).status_code == 200
        assert (
            client.get(sign(timeline_target(installed.group), key="a-brand-new-key-0001")).status_code == 200
        )
        assert client.get(sign(timeline_target(installed.group), key="retired-key-00001")).status_code == 403
    finally:
        rotated.extensions["zapp"].database.dispose()


def test_the_public_url_not_the_host_header_is_what_was_signed(client, installed, timeline_target):
    target = timeline_target(installed.group)
    assert (
        client.get(sign(target, base="http://evil.example"), headers={"Host": "evil.example"}).status_code
        == 403
    )
    assert (
        client.get(sign(target), headers={"Host": "evil.example", "X-Forwarded-Host": "x"}).status_code == 200
    )


def test_an_unknown_group_gets_404(client, installed, timeline_target):
    assert client.get(sign(timeline_target(object_id()))).status_code == 404


def test_a_deleted_installation_gets_404(client, make_instance, timeline_target):
    deleted = make_instance(state=InstanceState.DELETED.value)
    assert client.get(sign(timeline_target(deleted.group))).status_code == 404


def test_a_disabled_installation_gets_a_page_that_says_so(client, make_instance, timeline_target):
    disabled = make_instance(state=InstanceState.DISABLED.value)
    response = client.get(sign(timeline_target(disabled.group)))
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "App disabled" in text and "An administrator can enable it again" in text
    assert 'id="zapp-page"' not in text  # no token for a disabled installation


def test_a_disabled_page_is_localized(client, make_instance, timeline_target):
    disabled = make_instance(state=InstanceState.DISABLED.value)
    text = client.get(sign(timeline_target(disabled.group, lang="es"))).get_data(as_text=True)
    assert 'lang="es"' in text and "App desactivada" in text


@pytest.mark.parametrize("disabled_first", [True, False])
def test_a_live_installation_wins_over_a_disabled_one_covering_the_same_group(
    app, client, make_instance, timeline_target, disabled_first
):
    group = object_id()
    if disabled_first:
        make_instance(state=InstanceState.DISABLED.value, groups=[group])
    live = make_instance(groups=[group])
    if not disabled_first:
        make_instance(state=InstanceState.DISABLED.value, groups=[group])
    response = client.get(sign(timeline_target(group)))
    assert response.status_code == 200
    with app.app_context():
        assert context_tokens().read(page_data(response)["context"]).instance == live.public_id


@pytest.mark.parametrize("name", READ_BY_PAGES)
def test_a_parameter_the_page_reads_given_twice_is_refused(client, installed, timeline_target, name):
    values = {"group": installed.group, "user": object_id(), "prospect": object_id(), "lang": "es"}
    target = timeline_target(installed.group) + f"&{name}={values[name]}"
    response = client.get(sign(target))
    assert response.status_code == 400
    assert 'id="zapp-page"' not in response.get_data(as_text=True)


def test_a_parameter_smuggled_in_encoded_is_still_a_duplicate(client, installed, timeline_target):
    target = timeline_target(installed.group) + f"&%67roup={object_id()}"
    assert client.get(sign(target)).status_code == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [("group", "507F191E810C19729DE860EA"), ("group", "abc"), ("prospect", "../../x"), ("user", "1" * 25)],
)
def test_malformed_ids_are_refused_before_any_lookup(client, installed, name, value):
    values = {"prospect": object_id(), "user": object_id(), "group": installed.group, name: value}
    target = "/dialogs/timeline?" + "&".join(f"{key}={item}" for key, item in values.items())
    assert client.get(sign(target)).status_code == 400


def test_a_dialog_without_a_prospect_or_group_is_refused(client, installed):
    assert client.get(sign(f"/dialogs/timeline?group={installed.group}")).status_code == 400
    assert client.get(sign(f"/dialogs/timeline?prospect={object_id()}")).status_code == 400


def test_an_empty_user_is_no_user(client, installed, app):
    response = client.get(sign(f"/dialogs/timeline?prospect={object_id()}&user=&group={installed.group}"))
    assert response.status_code == 200
    with app.app_context():
        assert context_tokens().read(page_data(response)["context"]).user is None


def test_without_a_public_url_every_signed_page_is_refused(app_env, installed, timeline_target):
    bare = create_app({**app_env, "ZAPP_PUBLIC_URL": ""})
    try:
        assert bare.test_client().get(sign(timeline_target(installed.group))).status_code == 403
    finally:
        bare.extensions["zapp"].database.dispose()


def test_json_clients_get_the_refusal_as_json(client, installed, timeline_target):
    response = client.get(timeline_target(installed.group), headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "bad_signature"


# -- language ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "instance_language", "expected", "title"),
    [
        ("en", "pt", "en", "Timeline"),
        ("es", "en", "es", "Cronología"),
        ("pt-BR", "en", "pt", "Linha do tempo"),
        ("", "pt", "pt", "Linha do tempo"),
        ("xx", "es", "en", "Timeline"),
    ],
)
def test_the_page_speaks_the_url_language_else_the_installation_one(
    client, make_instance, lang, instance_language, expected, title
):
    instance = make_instance(language=instance_language)
    response = client.get(
        sign(f"/dialogs/timeline?prospect={object_id()}&group={instance.group}&lang={lang}")
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{expected}">' in text and f"<h1>{title}</h1>" in text
    assert page_data(response)["language"] == expected


@pytest.mark.parametrize(
    ("lang", "phrase"), [("en", "Open it again"), ("es", "Ábrela de nuevo"), ("pt", "Abra-a novamente")]
)
def test_the_403_page_is_localized(client, installed, timeline_target, lang, phrase):
    response = client.get(timeline_target(installed.group, lang=lang))
    assert response.status_code == 403 and phrase in response.get_data(as_text=True)
