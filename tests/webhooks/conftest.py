"""Fixtures for webhook tests: an app wired to a sandbox, a provisioned instance, envelopes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from zapp import create_app
from zapp.models import Instance, WebhookEvent
from zapp.sandbox.data import iso
from zapp.sandbox.leads import process_lead

CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens: the sandbox's own deliveries fail at once


@dataclass
class Wired:
    """An instance installed and provisioned against the sandbox, and how to reach its webhook."""

    app: Any
    sandbox: Any
    api_key: str
    public_id: str
    instance_id: int
    token: str

    @property
    def zapp(self):
        return self.app.extensions["zapp"]

    @property
    def path(self) -> str:
        return f"/webhooks/{self.token}"

    def new_prospect(self, **lead: Any) -> dict[str, Any]:
        """A prospect created in the sandbox as a lead would create it (no delivery: the test sends)."""
        state = self.sandbox.state
        integration = state.integrations[self.api_key]
        phone = f"+55119{uuid.uuid4().int % 10**8:08d}"
        lead = {"utmSource": "google", "firstName": "Ana", "phones": [phone], **lead}
        prospect, _created = process_lead(state, state.account_of(integration), integration, lead, "retail")
        return prospect

    def deliver(self, body: dict[str, Any], expect: tuple[int, ...] = (200, 202)) -> int:
        """Post ``body`` to the instance's webhook as Sales would; the id of the newest stored event."""
        response = self.app.test_client().post(self.path, json=body)
        assert response.status_code in expect, response.get_data(as_text=True)
        return self.events()[-1].id

    def set_settings(self, **changes: Any) -> None:
        self.zapp.lifecycle.update_settings(self.api_key, changes)

    def events(self, **where: Any) -> list[WebhookEvent]:
        with self.zapp.database.transaction() as session:
            query = select(WebhookEvent).where(WebhookEvent.instance_id == self.instance_id)
            for name, value in where.items():
                query = query.where(getattr(WebhookEvent, name) == value)
            return list(session.scalars(query.order_by(WebhookEvent.id)))

    def count(self, model, **where: Any) -> int:
        with self.zapp.database.transaction() as session:
            query = select(func.count()).select_from(model).where(model.instance_id == self.instance_id)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return session.scalar(query)

    def get(self, model, *key: Any):
        with self.zapp.database.transaction() as session:
            return session.get(model, (self.instance_id, *key))


# Settings that turn the automatic reply on, with a template the sandbox knows.
REPLY_ON = {"automaticReplyEnabled": True, "automaticReplyTemplate": "welcome_lead"}


def envelope(prospect: dict[str, Any], topic: str = "prospects", kind: str = "created", **extra: Any) -> dict:
    """A notification shaped as Sales sends it (the seed's example), for one prospect."""
    now = time.time()
    summary_keys = ("id", "firstName", "lastName", "groupId", "status", "phones", "created", "updatedAt")
    body: dict[str, Any] = {
        "subscriptionId": "5f0c1a2b3c4d5e6f7a8b9c0d",
        "topic": topic,
        "type": kind,
        "received": iso(now),
        "sent": iso(now),
        "attempts": 1,
        "prospect": [{key: prospect.get(key) for key in summary_keys}],
        "updatedAt": prospect.get("updatedAt"),
        "operationId": uuid.uuid4().hex,
    }
    if topic == "prospects":
        body.update(whatsAppDueAt=iso(now + 86400), facebookDueAt=iso(now + 3600), updates=[])
    body.update(extra)
    return body


@pytest.fixture
def sales_app(app_env, sandbox):
    """The app configured to call the sandbox as its Sales."""
    env = {**app_env, "ZAPP_SALES_API_URL": sandbox.api_url, "ZAPP_PUBLIC_URL": CLOSED_PORT_URL}
    application = create_app(env)
    yield application
    application.extensions["zapp"].database.dispose()


@pytest.fixture
def immediate_jobs(sales_app):
    """Run jobs as they are queued, in the caller's thread: the chain of jobs without a worker."""
    queue = sales_app.extensions["zapp"].jobs.queue
    queue.immediate = True
    yield queue
    queue.immediate = False


@pytest.fixture
def wired(sales_app, sandbox) -> Wired:
    zapp = sales_app.extensions["zapp"]
    account = sandbox.create_account(act_as_user=True)
    public_id = zapp.lifecycle.install(account["apiKey"], True).public_id
    assert zapp.provisioner.provision(public_id)
    [subscription] = [s for s in sandbox.state.subscriptions.values() if s["active"]]
    token = subscription["callbackUrl"].rsplit("/", 1)[-1]
    with zapp.database.transaction() as session:
        instance_id = session.scalar(select(Instance.id).where(Instance.public_id == public_id))
    return Wired(sales_app, sandbox, account["apiKey"], public_id, instance_id, token)
