"""The sandbox application: a simulated Sales host and API in one Flask app."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from .conversations import CHANNEL_VIA
from .data import DST_REGION, REGIONS, generate, iso, make_interaction, public_interaction
from .delivery import Deliverer
from .driver import LifecycleDriver
from .leads import process_lead
from .rules import RuleError
from .state import Account, Integration, SandboxState


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


@dataclass
class SandboxOptions:
    """How the sandbox behaves; credentials default to the app's own ``ZAPP_*`` variables."""

    app_url: str | None = None
    prospects: int = 300
    seed: int = 1
    days: int = 120
    rate_limit: int = 600
    reset_style: str = "epoch"
    app_id: str = field(default_factory=lambda: os.environ.get("ZAPP_APP_ID", "zapp-demo"))
    app_secret: str = field(default_factory=lambda: _first(os.environ.get("ZAPP_APP_SECRET")))
    signing_key: str = field(default_factory=lambda: _first(os.environ.get("ZAPP_SIGNING_KEY")))
    window_seconds: float = 60.0
    delivery_backoff: float = 2.0
    delivery_max_backoff: float = 300.0
    progress: Callable[[int], None] | None = None
    # Data pinned to this moment (epoch seconds) instead of the clock: tests that need known dates.
    now: float | None = None
    # Add stores in Europe/Madrid, the one region whose days change length (daylight saving time).
    dst_region: bool = False

    def __post_init__(self) -> None:
        if self.reset_style not in ("epoch", "delta"):
            raise ValueError("reset_style is 'epoch' or 'delta'")
        if self.app_url and not self.app_secret:
            raise ValueError("the sandbox needs the App's secret (ZAPP_APP_SECRET) to drive its lifecycle")


class Sandbox:
    """What the control surface and the host UI act through."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.state = SandboxState(
            options.seed, options.rate_limit, options.reset_style, options.window_seconds
        )
        self.driver = LifecycleDriver(options.app_id, options.app_secret)
        self.delivery = Deliverer(self.state, options.delivery_backoff, options.delivery_max_backoff)
        self._lock = threading.Lock()
        self._spare: Account | None = self._make_account(options.seed, options.progress)

    def _make_account(self, seed: int, progress=None) -> Account:
        regions = (*REGIONS, DST_REGION) if self.options.dst_region else REGIONS
        data = generate(self.options.prospects, seed, self.options.days, self.options.now, progress, regions)
        account = Account(data)
        with self.state.lock:
            self.state.accounts[account.info["id"]] = account
        return account

    def create_account(self, act_as_user: bool = True, scopes: list[str] | None = None) -> dict[str, Any]:
        """A fresh account (the pre-generated one first) with a new key; installs the App if one is set."""
        with self._lock:
            account = self._spare or self._make_account(self.options.seed + len(self.state.accounts))
            self._spare = None
        integration = self.state.add_integration(account, act_as_user=act_as_user, scopes=scopes,
                                                 app_url=self.options.app_url)  # fmt: skip
        result: dict[str, Any] = {"apiKey": integration.key, "groupId": integration.group_id,
                                  "accountId": account.info["id"]}  # fmt: skip
        if self.options.app_url:
            status, body = self.driver.install(self.options.app_url, integration.key)
            integration.installed = 200 <= status < 300
            result.update(appStatus=status, appBody=body)
        return result

    def set_enabled(self, integration: Integration, enabled: bool) -> tuple[int, Any]:
        status, body = self.driver.set_enabled(_app_url(integration), integration.key, enabled)
        if 200 <= status < 300:
            integration.enabled = enabled
        return status, body

    def refresh_key(self, integration: Integration) -> tuple[int, Any, str]:
        fresh = secrets.token_hex(20)
        status, body = self.driver.refresh_key(_app_url(integration), integration.key, fresh)
        if 200 <= status < 300:
            with self.state.lock:
                old = integration.key
                integration.key = fresh
                self.state.integrations[fresh] = integration
                del self.state.integrations[old]  # the old key is dead at once
        return status, body, fresh

    def delete(self, integration: Integration) -> tuple[int, Any]:
        status, body = self.driver.delete(_app_url(integration), integration.key)
        if 200 <= status < 300:
            integration.deleted = True
        return status, body

    def process_lead(self, integration: Integration, lead: dict, kind: str = "retail"):
        account = self.state.account_of(integration)
        prospect, created = process_lead(self.state, account, integration, lead, kind)
        self.delivery.notify(account, "prospects", "created" if created else "updated", prospect)
        return prospect, created

    def receive_message(
        self, integration: Integration, prospect_id: str, channel: str, content: str, at: float
    ) -> dict:
        """A contact's message on ``channel``, notified as Sales would (a new interaction; the window)."""
        account = self.state.account_of(integration)
        with self.state.lock:
            prospect = account.prospects.get(prospect_id)
            if prospect is None or not account.covers(prospect["groupId"], integration.group_id):
                raise RuleError("Prospect not found", 404)
            via = CHANNEL_VIA[channel]
            interaction = make_interaction(self.state.rng, prospect, prospect.get("agent"), at, False, via)
            interaction["output"] = {"message": {"content": content, "delivered": True, "via": via}}
            interaction.pop("finishedAt", None)
            account.add_interaction(interaction)
            prospect["updatedAt"] = iso(max(at, time.time()))
        public = public_interaction(interaction)
        self.delivery.notify(account, "interactions", "created", prospect, interaction=public)
        self.delivery.notify(account, "prospects", "updated", prospect, updates=[])
        return public

    def stop(self) -> None:
        self.delivery.stop()


def _app_url(integration: Integration) -> str:
    if integration.app_url is None:
        raise ValueError("this integration has no App to call (the sandbox was started without --app-url)")
    return integration.app_url


def create_sandbox_app(options: SandboxOptions) -> Flask:
    from . import activity, api, control, host

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=32 * 1024 * 1024, SECRET_KEY=secrets.token_hex(16))
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False
    attach_sandbox(app, Sandbox(options))
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(activity.bp)
    app.register_blueprint(host.bp)
    return app


def attach_sandbox(app: Flask, sandbox: Sandbox) -> None:
    """Make ``sandbox`` (its state, accounts, delivery) the one ``app`` serves; views look it up per request.

    Serving a fresh ``Sandbox`` from an app already running is a new Sales
    without building and starting a new server (tests do it hundreds of times).
    """
    app.extensions["sandbox_control"] = sandbox
    app.extensions["sandbox"] = sandbox.state
    app.extensions["sandbox_delivery"] = sandbox.delivery
    app.extensions["sandbox_leads"] = lambda account, integration, lead, kind: process_lead(
        sandbox.state, account, integration, lead, kind
    )
