"""The app's own copy of each installation's prospects and interactions, for the reports.

- ``records``: Sales JSON into rows, and the newest-wins upsert every writer uses.
"""
