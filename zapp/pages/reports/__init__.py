"""Manager reports: each module declares one with ``@report``: its page, and its CSV behind its token."""

from . import agent_activity_page, lead_sources_page, speed_to_lead_page

__all__ = ["agent_activity_page", "lead_sources_page", "speed_to_lead_page"]
