"""Manager reports: each module defines one with ``@report``, and its CSV download behind the page's token."""

from . import agent_activity_page, lead_sources_page, speed_to_lead_page

__all__ = ["agent_activity_page", "lead_sources_page", "speed_to_lead_page"]
