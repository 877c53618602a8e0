"""Manager reports: each module defines one with ``@report``, and its CSV download behind the page's token."""

from . import agent_activity, lead_sources, speed_to_lead

__all__ = ["agent_activity", "lead_sources", "speed_to_lead"]
