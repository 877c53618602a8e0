"""API keys at rest: encrypted, found by blind index, readable across rotation."""

from __future__ import annotations

import subprocess
import sys

from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.conftest import APP_ID, APP_SECRET, ROOT
from zapp import create_app
from zapp.models import Instance, VaultSecret

CREDS = {"X-App-Id": APP_ID, "X-App-Secret": APP_SECRET}


def _zapp(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "zapp.cli", *args],
        env={**env, "PATH": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_are_encrypted_and_indexed_never_plain(app, install):
    key = install()
    with app.extensions["zapp"].database.transaction() as session:
        instance = session.scalars(select(Instance)).one()
        assert key.encode() not in instance.key_ciphertext
        assert instance.key_index != key and len(instance.key_index) == 64
        index_secret = session.get(VaultSecret, "blind-index-key")
        assert index_secret is not None
    assert app.extensions["zapp"].vault.decrypt(instance.key_ciphertext) == key


def test_rotation_keeps_every_instance_working(app_env, encryption_keys):
    """Encrypt under K1, rotate to K2,K1, drop K1: every instance still works."""
    k1 = encryption_keys[0]
    k2 = Fernet.generate_key().decode()
    first = create_app(app_env)
    keys = []
    client = first.test_client()
    for n in range(5):
        keys.append(f"rotating-key-{n}")
        assert (
            client.post(
                "/lifecycle/install", json={"integration": {"apiKey": keys[-1]}}, headers=CREDS
            ).status_code
            == 201
        )
    first.extensions["zapp"].database.dispose()

    both = {**app_env, "ZAPP_ENCRYPTION_KEYS": f"{k2},{k1}"}
    result = _zapp(both, "keys", "rotate")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 6 rows" in result.stdout  # five API keys and the index key

    only_k2 = create_app({**app_env, "ZAPP_ENCRYPTION_KEYS": k2})
    client = only_k2.test_client()
    for key in keys:
        assert client.get(f"/lifecycle/settings?api-key={key}", headers=CREDS).status_code == 200
    vault = only_k2.extensions["zapp"].vault
    with only_k2.extensions["zapp"].database.transaction() as session:
        stored = [
            vault.decrypt(i.key_ciphertext) for i in session.scalars(select(Instance).order_by(Instance.id))
        ]
    assert stored == keys
    only_k2.extensions["zapp"].database.dispose()


def test_rotate_refuses_when_an_old_key_is_missing(app_env, install):
    install()
    result = _zapp({**app_env, "ZAPP_ENCRYPTION_KEYS": Fernet.generate_key().decode()}, "keys", "rotate")
    assert result.returncode != 0
    assert "ZAPP_ENCRYPTION_KEYS" in result.stderr
    assert "Traceback" not in result.stderr
