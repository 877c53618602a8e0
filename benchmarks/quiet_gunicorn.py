"""zapp's gunicorn settings without the access log: the benchmarks' second configuration."""

from zapp.gunicorn_config import *  # noqa: F403

accesslog = None
