"""Agents' names in the store: the newest name Sales gave each agent, applied to all of its rows.

Every envelope that names an agent (the ``agents`` topic, prospect
summaries, interactions) tells its current name. The store keeps the newest
per agent (``store_agents``, newest ``seen_ms`` wins, so events arriving out
of order never bring an old name back) and, when the name changed, renames
the agent's prospect and interaction rows and the labels of the report
rollups counted by agent, so the reports, which read names from those, name
one agent one way after a rename.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..models import ReportRollup, StoredAgent, StoredInteraction, StoredProspect

# The report rollups keyed by agent id, whose label is the agent's name (see ``store/rollups.py``).
AGENT_ROLLUP_KINDS = ("stl_agent", "act_agent")


def agents_named(rows: Iterable[Mapping]) -> dict[str, tuple[str, int]]:
    """``{agent id: (name, as of)}`` from store rows that name an agent, the newest name per agent."""
    named: dict[str, tuple[str, int]] = {}
    for row in rows:
        agent_id, name, seen = row.get("agent_id"), row.get("agent_name"), row.get("updated_ms")
        if not agent_id or not name or seen is None:
            continue
        if agent_id not in named or named[agent_id][1] <= seen:
            named[agent_id] = (name, seen)
    return named


def note_agent_names(session: Session, instance_id: int, named: Mapping[str, tuple[str, int]]) -> list[str]:
    """Record each agent's name unless a newer one is known; rename the rows of those renamed.

    Returns the ids of the agents renamed. A lookup by primary key per agent
    (an event names one or two): rows are touched only when names differ,
    through the ``(instance_id, agent_id)`` indexes.
    """
    renamed = []
    for agent_id, (name, seen_ms) in sorted(named.items()):
        known = session.get(StoredAgent, (instance_id, agent_id), with_for_update=True)
        if known is None:
            session.add(StoredAgent(instance_id=instance_id, agent_id=agent_id, name=name, seen_ms=seen_ms))
            continue
        if seen_ms < known.seen_ms:
            if known.name != name:  # an older event, with a name replaced since: its rows get the newer
                _rename_rows(session, instance_id, agent_id, known.name)
            continue
        known.seen_ms = seen_ms
        if known.name != name:
            known.name = name
            _rename_rows(session, instance_id, agent_id, name)
            renamed.append(agent_id)
    session.flush()
    return renamed


def _rename_rows(session: Session, instance_id: int, agent_id: str, name: str) -> None:
    for model in (StoredProspect, StoredInteraction):
        session.execute(
            update(model)
            .where(model.instance_id == instance_id, model.agent_id == agent_id, model.agent_name != name)
            .values(agent_name=name)
        )
    session.execute(
        update(ReportRollup)
        .where(
            ReportRollup.instance_id == instance_id,
            ReportRollup.kind.in_(AGENT_ROLLUP_KINDS),
            ReportRollup.key1 == agent_id,
            ReportRollup.label != name,
        )
        .values(label=name)
    )
