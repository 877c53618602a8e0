"""``client_for``: one Sales client per installation key, made from the stored ciphertext alone."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from zapp.installations.clients import SalesClients, StoredKey
from zapp.installations.errors import InstallationNotFound, KeyUnreadable
from zapp.sales import SalesClient
from zapp.vault import Vault


@pytest.fixture
def vault(app) -> Vault:
    return app.extensions["zapp"].vault


@pytest.fixture
def made() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def clients(vault, made) -> SalesClients:
    def make(key: str, index: str) -> SalesClient:
        made.append((key, index))
        return SalesClient(key, base_url="http://127.0.0.1:9/api/v1")

    return SalesClients(vault, make, size=2)


def stored(vault: Vault, key: str) -> StoredKey:
    return StoredKey(vault.blind_index(key), vault.encrypt(key))


def test_one_client_per_installation_key_decrypted_once(clients, vault, made):
    key = stored(vault, "key-1")
    first = clients.client_for(key)
    assert clients.client_for(StoredKey(key.key_index, key.key_ciphertext)) is first
    assert made == [("key-1", key.key_index)]  # the plaintext went to the client, once


def test_a_refreshed_or_reencrypted_key_gets_a_new_client(clients, vault, made):
    old = stored(vault, "key-1")
    first = clients.client_for(old)
    reencrypted = StoredKey(old.key_index, vault.encrypt("key-1"))  # `zapp keys rotate` did this
    assert clients.client_for(reencrypted) is not first
    assert clients.client_for(stored(vault, "key-2")) is not first
    assert [key for key, _ in made] == ["key-1", "key-1", "key-2"]


def test_the_cache_is_bounded_oldest_out(clients, vault):
    a, b, c = (stored(vault, name) for name in ("a", "b", "c"))
    first_a = clients.client_for(a)
    clients.client_for(b)
    clients.client_for(a)  # touch a: b is now the oldest
    clients.client_for(c)
    assert clients.client_for(a) is first_a
    assert len(clients._clients) == 2


def test_a_deleted_installation_has_no_client(clients):
    with pytest.raises(InstallationNotFound):
        clients.client_for(StoredKey(None, None))


def test_a_key_no_configured_encryption_key_opens_is_unreadable(clients, vault):
    foreign = Fernet(Fernet.generate_key()).encrypt(b"key-1")
    with pytest.raises(KeyUnreadable):
        clients.client_for(StoredKey(vault.blind_index("key-1"), foreign))
