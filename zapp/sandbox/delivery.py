"""Webhook delivery with Sales' policy: success below 400; the first attempt, then up to 20 retries.

Envelopes are built as the seed prints them (L1053-1329): ``prospect`` is an
array of prospect summaries whose ``agent`` is an array, and each envelope is
checked against the shared models before it is queued; one that does not
match is a sandbox bug, recorded in ``state.violations`` and not sent.
Events are delivered by one background thread, so API calls never wait on a
subscriber. Every attempt is recorded for ``/_sandbox/deliveries``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from typing import Any

import requests

from ..sales import inferred
from ..sales.models import ENVELOPES, ProspectSummary
from .conversations import conversation_windows
from .data import iso
from .state import Account, SandboxState

MAX_ATTEMPTS = 1 + inferred.WEBHOOK_RETRIES
TIMEOUT_SECONDS = inferred.WEBHOOK_TIMEOUT_SECONDS
MAX_BACKOFF_SECONDS = 300.0
SUMMARY_LEAD_KEYS = ("created", "createdBy", "source", "utmSource", "providerKey", "comments", "type")
SUMMARY_AGENT_KEYS = ("id", "firstName", "lastName", "phone", "email")


def prospect_summary(prospect: dict[str, Any]) -> dict[str, Any]:
    """A prospect as envelopes carry it (L1073-1112): ``agent`` an array, leads cut to their summary."""
    agent = prospect.get("agent")
    summary = {
        **prospect,
        "contactMediums": [],
        "leads": [{k: lead.get(k) for k in SUMMARY_LEAD_KEYS} for lead in prospect.get("leads") or ()],
        "agent": [{k: agent.get(k) for k in SUMMARY_AGENT_KEYS}] if agent else [],
    }
    return ProspectSummary.shape(summary)


class Deliverer:
    def __init__(self, state: SandboxState, backoff: float, max_backoff: float = MAX_BACKOFF_SECONDS) -> None:
        self._state = state
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._queue: list[tuple[float, int, dict[str, Any]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sandbox-delivery", daemon=True)
        self._thread.start()

    def notify(self, account: Account, topic: str, kind: str, prospect: dict, **extra: Any) -> None:
        """Queue one delivery per active subscription whose group covers the prospect and topic.

        ``extra``: ``updates`` (prospects, agents), ``interaction`` (interactions), ``quote`` (quotes).
        """
        now = time.time()
        for subscription in list(self._state.subscriptions.values()):
            if not subscription["active"] or topic not in subscription["topics"]:
                continue
            if subscription["accountId"] != account.info["id"]:
                continue
            if not account.covers(prospect["groupId"], subscription["groupId"]):
                continue
            envelope = self.envelope(account, subscription["id"], topic, kind, prospect, now, **extra)
            model = ENVELOPES[topic]
            problem = model.check(envelope)
            if problem:
                with self._state.lock:
                    self._state.violations.append(f"{topic} envelope: {model.__name__}: {problem}")
                continue
            self._push(now, {"url": subscription["callbackUrl"], "envelope": envelope, "attempt": 0})

    @staticmethod
    def envelope(account: Account, subscription_id: str, topic: str, kind: str, prospect: dict,
                 now: float, **extra: Any) -> dict[str, Any]:  # fmt: skip
        envelope: dict[str, Any] = {
            "subscriptionId": subscription_id,
            "topic": topic,
            "type": kind,
            "received": iso(now),
            "prospect": [prospect_summary(prospect)],
            "updatedAt": prospect.get("updatedAt") or iso(now),
            "operationId": uuid.uuid4().hex,
        }
        if topic == "prospects":
            envelope.update(conversation_windows(account, prospect["id"], now))
        if topic in ("prospects", "agents") and extra.get("updates") is not None:
            envelope["updates"] = extra["updates"]
        if topic == "prospects":
            envelope.setdefault("updates", [])
        if topic == "interactions" and extra.get("interaction"):
            envelope["interaction"] = extra["interaction"]
        if topic == "quotes" and extra.get("quote"):
            envelope[inferred.QUOTE_ENVELOPE_KEY] = extra["quote"]
        return envelope

    def _push(self, when: float, job: dict[str, Any]) -> None:
        with self._wake:
            heapq.heappush(self._queue, (when, next(self._order), job))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.time()):
                    timeout = self._queue[0][0] - time.time() if self._queue else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _when, _n, job = heapq.heappop(self._queue)
            self._attempt(job)

    def _attempt(self, job: dict[str, Any]) -> None:
        job["attempt"] += 1
        attempts = inferred.FIRST_ATTEMPTS_VALUE + job["attempt"] - 1
        envelope = {**job["envelope"], "attempts": attempts, "sent": iso(time.time())}
        status, error = None, None
        try:
            response = self._session.post(
                job["url"], json=envelope, timeout=TIMEOUT_SECONDS, allow_redirects=False
            )
            status = response.status_code
        except requests.RequestException as failure:
            error = type(failure).__name__
        ok = status is not None and status < 400
        with self._state.lock:
            self._state.deliveries.append({
                "subscriptionId": envelope["subscriptionId"], "operationId": envelope["operationId"],
                "topic": envelope["topic"], "type": envelope["type"], "url": job["url"],
                "attempt": job["attempt"], "status": status, "error": error, "ok": ok, "at": envelope["sent"],
            })  # fmt: skip
        if not ok and job["attempt"] < MAX_ATTEMPTS:
            delay = min(self._backoff * (2 ** (job["attempt"] - 1)), self._max_backoff)
            self._push(time.time() + delay, job)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._thread.join(timeout=5)
        self._session.close()
