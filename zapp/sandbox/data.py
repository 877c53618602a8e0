"""Realistic, deterministic Sales data from a seed.

Faker (pt_BR, es_MX, es_AR) fills small pools of names, streets and
companies once; everything else is drawn from ``random.Random(seed)``, which
keeps generation fast (tens of thousands of prospects in seconds) and
repeatable. Ids are ObjectIds whose first 8 hex digits are the creation
second, as Sales' are, so id order is creation order.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from faker import Faker

from ..sales.models import Interaction

VIAS = (
    "walkIn", "sms", "whatsApp", "email", "testDrive", "visit",
    "phoneCall", "outboundCall", "inboundCall", "facebook",
)  # fmt: skip
STATUSES = ("unclaimed", "new", "followUp", "archived")
LABELS = ("hot", "warm", "cold")
ARCHIVING_REASONS = (
    ("noAnswer", "No answer"),
    ("boughtElsewhere", "Bought elsewhere"),
    ("notInterested", "Not interested"),
    ("duplicate", "Duplicate"),
    ("financingDenied", "Financing denied"),
)
SOURCES = (
    # utmSource, utmMedium, campaigns, provider, weight
    ("google", "cpc", ("brand-search", "suv-launch", "black-friday"), "Google Ads", 30),
    ("facebook", "paid-social", ("lead-ads-q4", "retargeting"), "Meta Lead Ads", 25),
    ("instagram", "paid-social", ("reels-test-drive",), "Meta Lead Ads", 10),
    ("webmotors", "marketplace", ("listing",), "Webmotors", 12),
    ("mercadolibre", "marketplace", ("listing",), "Mercado Libre", 8),
    ("website", "organic", ("contact-form", "quote-form"), "Website", 10),
    ("newsletter", "email", ("monthly-offers",), "Newsletter", 5),
)
PRODUCTS = (
    ("Honda", "Civic", 145_000), ("Honda", "HR-V", 155_000), ("Toyota", "Corolla", 150_000),
    ("Toyota", "Hilux", 260_000), ("Volkswagen", "T-Cross", 140_000), ("Fiat", "Pulse", 110_000),
    ("Chevrolet", "Onix", 95_000), ("Jeep", "Compass", 190_000), ("Renault", "Kwid", 70_000),
)  # fmt: skip
REGIONS = (
    ("Brasil Sul", "America/Sao_Paulo", "BR", "pt", "BRL", "pt_BR"),
    ("México Centro", "America/Mexico_City", "MX", "es", "MXN", "es_MX"),
    ("Argentina", "America/Argentina/Buenos_Aires", "AR", "es", "ARS", "es_AR"),
)
# Opt-in: none of the default regions observes daylight saving time, and reports must bucket days
# across a DST change. Kept out of REGIONS so the default data stays what it always was.
DST_REGION = ("España", "Europe/Madrid", "ES", "es", "EUR", "es_ES")
ALL_REGIONS = (*REGIONS, DST_REGION)
TEMPLATES = (
    (
        "welcome_lead",
        "Welcome",
        "Olá {{prospect.firstName}}, obrigado pelo contato! Sou {{agent.firstName}}.",
    ),
    (
        "test_drive_invite",
        "Test drive",
        "{{prospect.firstName}}, que tal um test drive do {{product.model}}?",
    ),
    ("follow_up", "Follow up", "Oi {{prospect.firstName}}, ainda tem interesse? Posso ajudar."),
)
POOL = 300


def object_id(created: float, rng: random.Random) -> str:
    return f"{int(created):08x}{rng.getrandbits(64):016x}"


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Pools:
    """Names and places drawn from Faker once per locale."""

    first: dict[str, list[str]] = field(default_factory=dict)
    last: dict[str, list[str]] = field(default_factory=dict)
    city: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, seed: int, regions: tuple[tuple, ...] = REGIONS) -> Pools:
        """The pools of ``seed``; setting up Faker is most of a small sandbox's start, so a process
        keeps the pools it drew (they are only read) for the next sandbox or account of that seed."""
        return _pools(seed, regions)

    @classmethod
    def draw(cls, seed: int, regions: tuple[tuple, ...]) -> Pools:
        pools = cls()
        for _name, _tz, _country, _lang, _currency, locale in regions:
            faker = Faker(locale)
            faker.seed_instance(seed)
            pools.first[locale] = [faker.first_name() for _ in range(POOL)]
            pools.last[locale] = [faker.last_name() for _ in range(POOL)]
            pools.city[locale] = [faker.city() for _ in range(40)]
        return pools


@functools.lru_cache(maxsize=32)
def _pools(seed: int, regions: tuple[tuple, ...]) -> Pools:
    return Pools.draw(seed, regions)


@dataclass
class Dataset:
    account: dict[str, Any]
    groups: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    prospects: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    channels: list[dict[str, Any]]


def _group(rng, created, name, parent, kind, timezone, country, language, ancestors):
    return {
        "id": object_id(created, rng),
        "displayName": name,
        "name": name.lower().replace(" ", "-"),
        "parent": parent,
        "ancestors": list(ancestors),
        "descendants": [],
        "type": [kind],
        "timezone": timezone,
        "countryCode": country,
        "language": language,
    }


def build_groups(
    rng: random.Random, created: float, pools: Pools, regions: tuple[tuple, ...] = REGIONS
) -> list[dict[str, Any]]:
    root = _group(rng, created, "Grupo Autonova", None, "OEM", "America/Sao_Paulo", "BR", "pt", [])
    groups = [root]
    for region_name, timezone, country, language, _currency, locale in regions:
        region = _group(
            rng, created, region_name, root["id"], "group", timezone, country, language, [root["id"]]
        )
        groups.append(region)
        for _ in range(rng.randint(2, 3)):
            city = rng.choice(pools.city[locale])
            store = _group(rng, created, f"Autonova {city}", region["id"], "store", timezone, country,
                           language, [root["id"], region["id"]])  # fmt: skip
            groups.append(store)
    by_id = {g["id"]: g for g in groups}
    for group in groups:
        for ancestor in group["ancestors"]:
            by_id[ancestor]["descendants"].append(group["id"])
    return groups


def locale_of(group: dict[str, Any]) -> str:
    return next(r[5] for r in ALL_REGIONS if r[1] == group["timezone"] and r[2] == group["countryCode"])


def build_agents(rng: random.Random, created: float, groups: list[dict], pools: Pools) -> list[dict]:
    agents = []
    for group in groups:
        if "store" not in group["type"]:
            continue
        locale = locale_of(group)
        for _ in range(rng.randint(3, 5)):
            first, last = rng.choice(pools.first[locale]), rng.choice(pools.last[locale])
            agent_id = object_id(created, rng)
            agents.append({
                "id": agent_id,
                "firstName": first,
                "lastName": last,
                "email": f"{first}.{last}@autonova.example".lower().replace(" ", ""),
                "phone": f"+55119{rng.randint(10_000_000, 99_999_999)}",
                "legacyId": None,
                "externalId": {"crm": f"EXT-{rng.randint(1000, 9999)}"},
                "groupId": group["id"],
                "active": rng.random() > 0.1,
            })  # fmt: skip
    return agents


def _weighted_source(rng: random.Random) -> tuple:
    return rng.choices(SOURCES, weights=[s[4] for s in SOURCES])[0]


def first_response_seconds(rng: random.Random) -> float | None:
    """Minutes for most, hours for some, days for a few, never for others."""
    roll = rng.random()
    if roll < 0.12:
        return None
    if roll < 0.55:
        return rng.uniform(30, 15 * 60)
    if roll < 0.85:
        return rng.uniform(15 * 60, 6 * 3600)
    return rng.uniform(6 * 3600, 4 * 86400)


def agent_summary(agent: dict[str, Any] | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    keys = ("id", "firstName", "lastName", "email", "phone", "legacyId", "externalId")
    return {key: agent[key] for key in keys}


def make_prospect(rng, pools, created, store, agents_by_group, account, now) -> dict[str, Any]:
    locale = locale_of(store)
    first, last = rng.choice(pools.first[locale]), rng.choice(pools.last[locale])
    source, medium, campaigns, provider, _weight = _weighted_source(rng)
    make, model, price = rng.choice(PRODUCTS)
    currency = next(r[4] for r in ALL_REGIONS if r[2] == store["countryCode"])
    response = first_response_seconds(rng)
    first_contact = created + response if response is not None and created + response < now else None
    agent = rng.choice(agents_by_group[store["id"]]) if first_contact or rng.random() < 0.3 else None
    status = "unclaimed" if agent is None else rng.choices(STATUSES[1:], weights=(30, 50, 20))[0]
    prospect_id = object_id(created, rng)
    return {
        "id": prospect_id,
        "created": iso(created),
        "updatedAt": iso(first_contact or created),
        "account": account["name"],
        "accountId": account["id"],
        "group": store["displayName"],
        "groupId": store["id"],
        "initialGroup": store["displayName"],
        "initialGroupId": store["id"],
        "firstName": first,
        "lastName": last,
        "label": rng.choice(LABELS),
        "category": rng.choice(("new", "used")),
        "status": status,
        "nin": [],
        "userMade": False,
        "archivingReason": rng.choice(ARCHIVING_REASONS)[0] if status == "archived" else None,
        "phones": [f"+55{rng.randint(11, 99)}9{rng.randint(10_000_000, 99_999_999)}"],
        "emails": [f"{first}.{last}{rng.randint(1, 999)}@mail.example".lower().replace(" ", "")],
        "additionalData": {},
        "merged": False,
        "absenceMessage": None,
        "leads": [
            {
                "priority": rng.choice((0, 1, 2)),
                "created": iso(created),
                "createdBy": account["id"],
                "source": provider,
                "comments": f"Interesse no {make} {model}",
                "utmSource": source,
                "utmMedium": medium,
                "utmCampaign": rng.choice(campaigns),
                "providerKey": source,
                "company": account["name"],
                "store": store["displayName"],
                "agent": None,
                "type": "retail",
                "product": {
                    "make": make,
                    "model": model,
                    "detail": "",
                    "sku": f"{make[:3].upper()}-{model[:3].upper()}",
                    "price": {"amount": price, "currency": currency},
                },
            }
        ],  # fmt: skip
        "agent": agent_summary(agent),
        "assigned": iso(first_contact or created) if agent is not None else None,
        "nextReminder": None,
        "firstContactedAt": iso(first_contact) if first_contact else None,
        "sentWorkingHourMessage": None,
    }


def public_interaction(interaction: dict[str, Any]) -> dict[str, Any]:
    """An interaction as Sales shows it: the sandbox files it under its prospect's group, Sales names none."""
    return Interaction.shape(interaction)


def make_interaction(rng, prospect, agent, at, proactive, via=None) -> dict[str, Any]:
    via = via or rng.choice(VIAS)
    return {
        "id": object_id(at, rng),
        "agentId": agent["id"] if agent else None,
        "agent": agent,
        "prospectId": prospect["id"],
        "groupId": prospect["groupId"],
        "createdAt": iso(at),
        "dueAt": None,
        "startedAt": iso(at),
        "finishedAt": iso(at + rng.uniform(30, 900)),
        "status": "completed",
        "proactive": proactive,
        "via": via,
        "output": {
            "comment": rng.choice(
                ("Falou com o cliente", "Enviou proposta", "Agendou visita", "Sem resposta")
            )
        },
    }


def interactions_for(rng, prospect, now) -> list[dict[str, Any]]:
    if not prospect["firstContactedAt"]:
        return []
    agent = prospect["agent"]
    first = datetime.fromisoformat(prospect["firstContactedAt"].replace("Z", "+00:00")).timestamp()
    first_via = rng.choice(("phoneCall", "whatsApp", "outboundCall", "email", "sms"))
    items = [make_interaction(rng, prospect, agent, first, proactive=True, via=first_via)]
    at = first
    for _ in range(rng.randint(0, 6)):
        at += rng.uniform(600, 3 * 86400)
        if at >= now:
            break
        items.append(make_interaction(rng, prospect, agent, at, proactive=rng.random() < 0.6))
    return items


def build_channels() -> list[dict[str, Any]]:
    templates = [{"key": key, "name": name, "body": body, "template": body} for key, name, body in TEMPLATES]
    return [
        {"channel": "whatsapp", "channelId": "5511999990000", "templates": templates},
        {"channel": "facebook", "channelId": "autonova.page", "templates": templates[:1]},
    ]


def generate(
    prospects: int,
    seed: int,
    days: int = 120,
    now: float | None = None,
    progress: Callable[[int], None] | None = None,
    regions: tuple[tuple, ...] = REGIONS,
) -> Dataset:
    """A whole account: groups, agents, ``prospects`` contacts over ``days`` days, their interactions.

    ``now`` pins the data to a moment (tests that need known dates); ``regions``
    may add ``DST_REGION`` for stores whose days change length.
    """
    rng = random.Random(seed)
    now = float(int(now if now is not None else datetime.now(UTC).timestamp()))
    start = now - days * 86400
    pools = Pools.build(seed, regions)
    account = {"id": object_id(start - 86400, rng), "name": "Autonova"}
    groups = build_groups(rng, start - 86400, pools, regions)
    agents = build_agents(rng, start - 86400, groups, pools)
    stores = [g for g in groups if "store" in g["type"]]
    agents_by_group: dict[str, list[dict]] = {}
    for agent in agents:
        agents_by_group.setdefault(agent["groupId"], []).append(agent)
    # creation times skew recent: sqrt of a uniform draw leans towards 1
    times = sorted(start + (now - start - 1) * (rng.random() ** 0.8) for _ in range(prospects))
    made, interactions = [], []
    for n, created in enumerate(times, start=1):
        prospect = make_prospect(rng, pools, int(created), rng.choice(stores), agents_by_group, account, now)
        made.append(prospect)
        interactions.extend(interactions_for(rng, prospect, now))
        if progress and n % 1000 == 0:
            progress(1000)
    if progress:
        progress(len(times) % 1000)
    interactions.sort(key=lambda item: item["id"])
    return Dataset(account, groups, agents, made, interactions, build_channels())
