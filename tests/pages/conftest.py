"""Fixtures for framed pages: installations with groups, Sales' signing, tokens read from pages."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import SIGNING_KEY
from zapp import create_app
from zapp.models import Instance, InstanceGroup, InstanceState

PUBLIC_URL = "http://zapp.test"
VECTORS_FILE = Path(__file__).with_name("signature-vectors.json")
HOSTILE_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_LAST = "</script><script>alert(2)</script>"
_PAGE_DATA = re.compile(r'<script type="application/json" id="zapp-page"[^>]*>(.*?)</script>', re.S)
_PAGE_STRINGS = re.compile(
    r'<script type="application/json" id="zapp-page-strings"[^>]*>(.*?)</script>', re.S
)


def object_id() -> str:
    return secrets.token_hex(12)


def signature_for(url: str, key: str = SIGNING_KEY) -> str:
    """The seed's algorithm: hex HMAC-SHA256 of the URL string (UTF-8), keyed with the App's key."""
    return hmac.new(key.encode(), url.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(target: str, key: str = SIGNING_KEY, base: str = PUBLIC_URL) -> str:
    """Sign ``base + target`` as Sales does and return the target with ``signature`` appended last."""
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}signature={signature_for(base + target, key)}"


def page_data(response) -> dict:
    """What a page's script reads: its strings block with its data block (context token, URLs) on
    top, as ``page.js`` merges them; ``response`` may be the page's HTML."""
    html = response if isinstance(response, str) else response.get_data(as_text=True)
    match = _PAGE_DATA.search(html)
    assert match, "the page has no data block"
    strings = _PAGE_STRINGS.search(html)
    return {**(json.loads(strings.group(1)) if strings else {}), **json.loads(match.group(1))}


def with_interactions(account_data) -> dict:
    """The newest prospect of a sandbox account that has interactions."""
    ids = reversed(account_data.prospect_ids)
    return next(account_data.prospects[p] for p in ids if account_data.by_prospect.get(p))


@dataclass
class Installed:
    """An installation made directly through the models, with the groups it covers."""

    id: int
    public_id: str
    api_key: str
    groups: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        return self.groups[0]


@pytest.fixture
def vectors() -> dict:
    return json.loads(VECTORS_FILE.read_text())


@pytest.fixture
def make_instance(app):
    """Insert an installation (state, language, groups) the way provisioning leaves one."""
    zapp = app.extensions["zapp"]

    def _make(
        state: str = InstanceState.ENABLED.value,
        groups: list[str] | None = None,
        language: str | None = "en",
        api_key: str | None = None,
    ) -> Installed:
        api_key = api_key or "key-" + uuid.uuid4().hex
        groups = groups or [object_id(), object_id()]
        index = zapp.vault.blind_index(api_key)
        with zapp.database.transaction() as session:
            instance = Instance(
                state=state,
                key_index=index,
                key_ciphertext=zapp.vault.encrypt(api_key),
                language=language,
                sales_group_id=groups[0],
                provisioned_version=1,
            )
            session.add(instance)
            session.flush()
            for position, group in enumerate(groups):
                session.add(
                    InstanceGroup(
                        instance_id=instance.id,
                        group_id=group,
                        parent_id=None if position == 0 else groups[0],
                        name=f"Group {position}",
                        display_name=f"Group {position}",
                    )
                )
            return Installed(instance.id, instance.public_id, api_key, list(groups))

    return _make


@pytest.fixture
def installed(make_instance) -> Installed:
    return make_instance()


@pytest.fixture
def timeline_target():
    """A timeline dialog target for an installation's group, as the manifest's placeholders fill it."""

    def _target(group: str, prospect: str | None = None, user: str | None = None, lang: str = "en") -> str:
        prospect = prospect or object_id()
        user = user or object_id()
        return f"/dialogs/timeline?prospect={prospect}&user={user}&group={group}&lang={lang}"

    return _target


@pytest.fixture
def sandbox_app(app_env, sandbox):
    """The app calling a real Sales sandbox (an HTTP server) as its Sales API."""
    application = create_app({**app_env, "ZAPP_SALES_API_URL": sandbox.api_url})
    yield application
    application.extensions["zapp"].database.dispose()


@pytest.fixture
def sales_account(sandbox, sandbox_app, make_instance):
    """A sandbox account (with an act-as-user user) installed in the app: its key, groups and data."""
    return install_account(sandbox, make_instance, act_as_user=True)


def install_account(sandbox, make_instance, *, act_as_user: bool, scopes: list[str] | None = None):
    account = sandbox.create_account(act_as_user=act_as_user, scopes=scopes)
    data = sandbox.state.accounts[account["accountId"]]
    root = account["groupId"]
    covered = [root, *(g for g, node in data.groups.items() if root in node.get("ancestors", []))]
    installed = make_instance(groups=covered, api_key=account["apiKey"])
    return installed, data


def open_dialog(client, key: str, group: str, prospect: str, lang: str = "en") -> dict:
    """Open a signed dialog as Sales would and return its data block (token, URLs, strings)."""
    response = client.get(
        sign(f"/dialogs/{key}?prospect={prospect}&user={object_id()}&group={group}&lang={lang}")
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return page_data(response)
