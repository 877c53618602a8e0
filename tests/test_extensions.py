"""The long-lived services the app builds once."""

from __future__ import annotations

from zapp.extensions import SalesClients
from zapp.sales import SalesClient


def _make(key: str, index: str) -> SalesClient:
    return SalesClient(key, base_url="http://127.0.0.1:9/api/v1")


def test_one_client_per_instance_key_and_a_new_one_after_refresh():
    clients = SalesClients(_make)
    first = clients.get("key-1", "index-a")
    assert clients.get("key-1", "index-a") is first
    refreshed = clients.get("key-2", "index-a")
    assert refreshed is not first
    assert clients.get("key-x", "index-b") is not refreshed


def test_the_cache_is_bounded_oldest_out():
    clients = SalesClients(_make, size=2)
    a = clients.get("a", "1")
    clients.get("b", "2")
    clients.get("a", "1")  # touch a: b is now the oldest
    clients.get("c", "3")
    assert clients.get("a", "1") is a
    assert len(clients._clients) == 2
