"""The job queue of a deployment without Redis."""

from __future__ import annotations

import sqlite3


def test_the_sqlite_queue_commits_as_the_database_does_and_keeps_what_it_queued(app, app_env):
    """WAL and ``synchronous=NORMAL`` (not huey's default ``FULL``, an fsync in every webhook
    acknowledgement); a queued job is in the file for the worker process that opens it next."""
    jobs = app.extensions["zapp"].jobs
    jobs.process_event(12345)
    connection = jobs.queue.storage.conn
    assert connection.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL
    assert connection.execute("pragma journal_mode").fetchone()[0] == "wal"
    jobs.queue.storage.close()

    with sqlite3.connect(app_env["ZAPP_JOBS_PATH"]) as worker:
        assert worker.execute("select count(*) from task where queue = 'zapp'").fetchone()[0] == 1
