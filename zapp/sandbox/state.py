"""The sandbox's in-memory world: accounts, integrations (keys), prospects, subscriptions, faults.

One lock guards it; every handler holds it only while reading or changing
state, never while sleeping for faults or delivering webhooks.
"""

from __future__ import annotations

import bisect
import random
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .data import Dataset, object_id

ALL_SCOPES = (
    "leads:write",
    "prospects:read",
    "prospects:readAdditionalData",
    "prospects:write",
    "notifications",
    "messages:channels",
    "messages:transactional",
    "messages:conversational",
    "integration:act-as-user",
)
WINDOW_SECONDS = 60


@dataclass
class Integration:
    key: str
    account_id: str
    group_id: str
    scopes: frozenset[str]
    user: dict[str, Any] | None
    integration_id: str
    app_url: str | None = None
    enabled: bool = True
    deleted: bool = False
    installed: bool = False


@dataclass
class RateWindow:
    started: float = 0.0
    served: int = 0


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit: int | None = None
    storm_until: float = 0.0
    write_answer_status: int = 0  # a 5xx in place of every write's answer, after the write is made
    writes_unavailable: bool = False  # every write answered 503 before it is made


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rate_limited: int = 0
    over_limit: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # 429s outside storms
    max_in_window: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors_injected: int = 0


class Account:
    """One Sales account and everything in it, with ids kept sorted for paging."""

    def __init__(self, data: Dataset) -> None:
        self.info = data.account
        self.groups = {g["id"]: g for g in data.groups}
        self.root_group_id = data.groups[0]["id"]
        self.agents = {a["id"]: a for a in data.agents}
        self.channels = data.channels
        self.prospects: dict[str, dict[str, Any]] = {p["id"]: p for p in data.prospects}
        self.prospect_ids = sorted(self.prospects)
        self.interactions: dict[str, dict[str, Any]] = {i["id"]: i for i in data.interactions}
        self.interaction_ids = sorted(self.interactions)
        self.by_prospect: dict[str, list[str]] = defaultdict(list)
        for interaction in data.interactions:
            self.by_prospect[interaction["prospectId"]].append(interaction["id"])
        self.labels = ["hot", "warm", "cold", "vip"]

    def covers(self, group_id: str, scope_group: str) -> bool:
        group = self.groups.get(group_id)
        return group is not None and (group_id == scope_group or scope_group in group["ancestors"])

    def add_prospect(self, prospect: dict[str, Any]) -> None:
        self.prospects[prospect["id"]] = prospect
        bisect.insort(self.prospect_ids, prospect["id"])

    def remove_prospect(self, prospect_id: str) -> None:
        self.prospects.pop(prospect_id, None)
        index = bisect.bisect_left(self.prospect_ids, prospect_id)
        if index < len(self.prospect_ids) and self.prospect_ids[index] == prospect_id:
            self.prospect_ids.pop(index)

    def add_interaction(self, interaction: dict[str, Any]) -> None:
        self.interactions[interaction["id"]] = interaction
        bisect.insort(self.interaction_ids, interaction["id"])
        self.by_prospect[interaction["prospectId"]].append(interaction["id"])


class SandboxState:
    def __init__(
        self, rng_seed: int, rate_limit: int, reset_style: str, window_seconds: float = WINDOW_SECONDS
    ) -> None:
        self.window_seconds = window_seconds
        self.lock = threading.RLock()
        self.rng = random.Random(rng_seed)
        self.accounts: dict[str, Account] = {}
        self.integrations: dict[str, Integration] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.deliveries: list[dict[str, Any]] = []
        self.quotes: dict[str, dict[str, Any]] = {}
        self.app_events: list[dict[str, Any]] = []
        # Answers and envelopes that did not match the Sales models: sandbox bugs (tests fail on any).
        self.violations: list[str] = []
        self.windows: dict[str, RateWindow] = defaultdict(RateWindow)
        self.rate_limit = rate_limit
        self.reset_style = reset_style
        self.faults = Faults()
        self.stats = Stats()

    # -- ids and keys --------------------------------------------------------------------

    def new_id(self, at: float | None = None) -> str:
        with self.lock:
            return object_id(at if at is not None else time.time(), self.rng)

    def add_integration(
        self, account: Account, *, act_as_user: bool, scopes=None, app_url: str | None = None
    ) -> Integration:
        user = None
        if act_as_user:
            manager = next(iter(account.agents.values()))
            user = {k: manager[k] for k in ("id", "firstName", "lastName", "email")}
        integration = Integration(
            key=secrets.token_hex(20),
            account_id=account.info["id"],
            group_id=account.root_group_id,
            scopes=frozenset(scopes or ALL_SCOPES),
            user=user,
            integration_id=self.new_id(),
            app_url=app_url,
        )
        with self.lock:
            self.integrations[integration.key] = integration
        return integration

    def account_of(self, integration: Integration) -> Account:
        return self.accounts[integration.account_id]

    # -- rate limit ----------------------------------------------------------------------

    def limit(self) -> int:
        return self.faults.rate_limit or self.rate_limit

    def count_request(self, key: str, now: float) -> tuple[bool, dict[str, str]]:
        """Count one API call for ``key``: whether it may be served, and the three headers."""
        with self.lock:
            window = self.windows[key]
            if now >= window.started + self.window_seconds:
                window.started, window.served = now, 0
            limit = self.limit()
            allowed = window.served < limit and now >= self.faults.storm_until
            if allowed:
                window.served += 1
                self.stats.requests[key] += 1
                self.stats.max_in_window[key] = max(self.stats.max_in_window[key], window.served)
            else:
                self.stats.rate_limited += 1
                if now >= self.faults.storm_until:
                    self.stats.over_limit[key] += 1
            reset_at = window.started + self.window_seconds
            if now < self.faults.storm_until:
                reset_at = self.faults.storm_until  # a storm says when it ends
            reset = (
                str(int(reset_at + 0.999))
                if self.reset_style == "epoch"
                else str(max(1, int(reset_at - now + 0.999)))
            )
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(max(0, limit - window.served)),
                "X-RateLimit-Reset": reset,
            }
            return allowed, headers
