"""Webhook token rotation: a new callback URL at Sales, the old token alive until Sales confirms it."""

from __future__ import annotations

from datetime import UTC, timedelta

import requests
import time_machine
from sqlalchemy import select

from tests.conftest import APP_ID, APP_SECRET
from tests.webhooks.conftest import envelope
from zapp.models import Instance, utcnow
from zapp.webhooks.tokens import GRACE


def _faults(sandbox, **knobs) -> None:
    assert requests.post(sandbox.base_url + "/_sandbox/faults", json=knobs, timeout=5).ok


def _instance(wired) -> Instance:
    with wired.zapp.database.transaction() as session:
        return session.scalars(select(Instance).where(Instance.id == wired.instance_id)).one()


def _current_token(wired) -> str:
    return wired.zapp.vault.decrypt(_instance(wired).webhook_token_ciphertext)


def _active_tokens(sandbox) -> list[str]:
    """The tokens of the callback URLs Sales delivers to now."""
    return [s["callbackUrl"].rsplit("/", 1)[1] for s in sandbox.state.subscriptions.values() if s["active"]]


def _status(wired, token: str, prospect: dict) -> int:
    return wired.app.test_client().post(f"/webhooks/{token}", json=envelope(prospect)).status_code


def test_the_old_token_works_until_sales_confirms_the_new_subscription_then_for_the_grace(wired):
    old = wired.token
    prospect = wired.new_prospect()
    _faults(wired.sandbox, writesUnavailable=True)  # Sales cannot take the new subscription yet
    result = wired.app.test_cli_runner().invoke(args=["webhooks", "rotate", "--instance", wired.public_id])
    assert result.exit_code == 0, result.output
    assert "old token keeps working" in result.output
    new = _current_token(wired)
    assert new != old and _active_tokens(wired.sandbox) == [old]
    assert _status(wired, old, prospect) == 202  # Sales still delivers there
    assert _status(wired, new, wired.new_prospect()) == 202
    with time_machine.travel(utcnow() + 10 * GRACE):
        assert _status(wired, old, wired.new_prospect()) == 202  # no confirmation: no clock runs

    _faults(wired.sandbox, writesUnavailable=False)
    assert wired.zapp.provisioner.provision(wired.public_id)  # the reconcile's run
    assert _active_tokens(wired.sandbox) == [new]
    until = _instance(wired).previous_webhook_token_until
    assert until is not None
    until = until if until.tzinfo else until.replace(tzinfo=UTC)  # SQLite keeps no offset
    assert abs(until - (utcnow() + GRACE)) < timedelta(minutes=1)
    assert _status(wired, old, wired.new_prospect()) == 202  # Sales may still be retrying there
    with time_machine.travel(until + timedelta(seconds=1)):
        assert _status(wired, old, wired.new_prospect()) == 404
        assert _status(wired, new, wired.new_prospect()) == 202


def test_rotating_through_the_command_subscribes_at_once_when_sales_answers(wired):
    old = wired.token
    result = wired.app.test_cli_runner().invoke(args=["webhooks", "rotate", "--instance", wired.public_id])
    assert result.exit_code == 0 and "subscribed with the new token" in result.output, result.output
    new = _current_token(wired)
    assert _active_tokens(wired.sandbox) == [new]
    assert new not in result.output and old not in result.output
    unknown = wired.app.test_cli_runner().invoke(args=["webhooks", "rotate", "--instance", "nope"])
    assert unknown.exit_code != 0 and "no live installation" in unknown.output


def test_a_key_refresh_rotates_the_token_and_keeps_the_old_one_until_confirmed(wired):
    old = wired.token
    creds = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}
    path = f"/lifecycle/api-key?api-key={wired.api_key}"
    refreshed = wired.app.test_client().put(path, json={"newApiKey": "key-after-refresh-1"}, headers=creds)
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    instance = _instance(wired)
    assert instance.previous_webhook_token_index == wired.zapp.vault.blind_index(old)
    assert instance.previous_webhook_token_until is None
    assert _current_token(wired) != old
    assert _status(wired, old, wired.new_prospect()) == 202
    assert _status(wired, _current_token(wired), wired.new_prospect()) == 202


def test_a_deleted_instance_listens_at_neither_token(wired):
    old = wired.token
    assert wired.zapp.provisioner.rotate_webhook_token(wired.public_id)
    new = _current_token(wired)
    wired.zapp.lifecycle.delete(wired.api_key)
    prospect = wired.new_prospect()
    assert _status(wired, old, prospect) == 404 and _status(wired, new, prospect) == 404
