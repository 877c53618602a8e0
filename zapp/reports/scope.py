"""Which store rows a report reads: one installation, a group and its descendants, a time window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..installations.settings_form import merged_settings
from ..models import Instance, InstanceGroup
from .ranges import ReportRange


@dataclass(frozen=True)
class ReportScope:
    """What every report query filters on; ``group_ids`` holds the selected group first."""

    instance_id: int
    group_ids: tuple[str, ...]
    window: ReportRange

    def where(self, table: Any) -> tuple[Any, ...]:
        """The filter on ``(instance_id, group_id, created_ms)``: the store tables' index, in its order."""
        return (
            table.c.instance_id == self.instance_id,
            table.c.group_id.in_(self.group_ids),
            table.c.created_ms >= self.window.start_ms,
            table.c.created_ms < self.window.end_ms,
        )


def group_and_descendants(session: Session, instance_id: int, group_id: str) -> tuple[str, ...]:
    """``group_id`` and every group below it, from the tree provisioning recorded for the instance."""
    rows = session.execute(
        select(InstanceGroup.group_id, InstanceGroup.parent_id).where(
            InstanceGroup.instance_id == instance_id
        )
    ).all()
    return descendants_of(group_id, ((row.group_id, row.parent_id) for row in rows))


def descendants_of(root: str, edges: Iterable[tuple[str, str | None]]) -> tuple[str, ...]:
    """Breadth first from ``root``; a cycle in bad data cannot loop forever."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for group, parent in edges:
        children[parent].append(group)
    found, queue = [root], [root]
    seen = {root}
    while queue:
        for child in sorted(children.get(queue.pop(0), ())):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return tuple(found)


def instance_settings(session: Session, instance_id: int) -> dict[str, Any]:
    """The installation's settings, defaults filled in (the speed-to-lead target lives there)."""
    stored = session.scalar(select(Instance.settings).where(Instance.id == instance_id))
    return merged_settings(stored or {})
