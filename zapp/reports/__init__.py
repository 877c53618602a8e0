"""The manager reports' figures, computed from the local store (no Flask here).

- ``ranges``: Sales' ``range``/``start``/``end`` as local days of the group's time zone.
- ``scope``: which rows a report reads (installation, group and descendants, time window).
- ``days``: epoch milliseconds onto local days, exact across daylight-saving changes.
- ``freshness``: how current the store is (last sync, last webhook, a running import).
- ``speed_to_lead_query``, ``lead_sources_query``, ``agent_activity_query``: one query module per report.
- ``tables``, ``charts``, ``export``: what a report shows, as tables, inline SVG and CSV.
"""
