"""Fixtures for the client's tests: a sandbox with an account, and a client on its key."""

from __future__ import annotations

import pytest

from zapp.sales import MemoryBudget, SalesClient


@pytest.fixture
def account(sandbox):
    return sandbox.create_account(act_as_user=True)


@pytest.fixture
def client(sandbox, account):
    made = SalesClient(account["apiKey"], base_url=sandbox.api_url, budget=MemoryBudget(), timeout=(2, 5))
    yield made
    made.close()


def stats(sandbox) -> dict:
    import requests

    return requests.get(sandbox.base_url + "/_sandbox/stats", timeout=5).json()
