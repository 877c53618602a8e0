"""Filling the App's prospect custom fields in Sales once a contact is first contacted.

Processing an event notices a first contact (``first_contact_ms`` set where
the store had none) and queues a job per prospect; the job reads the store
row and writes the values through Sales' additional-data update. The write
sets absolute values, so a retried or repeated job converges on the same
data; Sales being down fails the job, which huey retries with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..custom_fields import first_response_values
from ..db import Database
from ..installations.clients import SalesClients
from ..installations.settings_form import merged_settings
from ..models import Instance, StoredProspect
from ..sales.errors import NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Fill:
    prospect_id: str
    values: dict
    key_index: str
    key_ciphertext: bytes = field(repr=False)


class CustomFieldWriter:
    def __init__(self, database: Database, clients: SalesClients) -> None:
        self._database = database
        self._clients = clients

    def fill(self, instance_id: int, prospect_id: str) -> bool:
        """Write the contact's first-response fields in Sales; False when there is nothing to write."""
        work = self._read(instance_id, prospect_id)
        if work is None:
            return False
        client = self._clients.client_for(work)
        try:
            client.update_additional_data(work.prospect_id, work.values)
        except NotFound:  # deleted in Sales since: nothing to fill
            log.info("custom fields of %s not written: the contact is gone", prospect_id)
            return False
        log.info("custom fields of %s written", prospect_id)
        return True

    def _read(self, instance_id: int, prospect_id: str) -> _Fill | None:
        with self._database.reading_session() as session:
            instance = session.get(Instance, instance_id)
            if instance is None or not instance.is_active or instance.key_ciphertext is None:
                return None  # a disabled installation writes nothing to Sales
            row = session.get(StoredProspect, (instance_id, prospect_id))
            if row is None or row.first_contact_ms is None or instance.key_index is None:
                return None
            target = int(merged_settings(instance.settings or {})["speedToLeadTargetMinutes"])
            values = first_response_values(row.created_ms, row.first_contact_ms, row.agent_name, target)
            return _Fill(prospect_id, values, instance.key_index, instance.key_ciphertext)


def first_contacted(session: Session, instance_id: int, rows: Iterable[dict]) -> list[str]:
    """The prospects among ``rows`` whose first contact the store learns now (it had none before).

    Read in the transaction that stores the rows, before they are stored.
    """
    candidates = {row["prospect_id"] for row in rows if row.get("first_contact_ms") is not None}
    if not candidates:
        return []
    known = session.scalars(
        select(StoredProspect.prospect_id).where(
            StoredProspect.instance_id == instance_id,
            StoredProspect.prospect_id.in_(candidates),
            StoredProspect.first_contact_ms.is_not(None),
        )
    )
    return sorted(candidates - set(known))
