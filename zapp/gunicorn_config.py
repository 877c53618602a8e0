"""gunicorn settings for zapp (``gunicorn -c python:zapp.gunicorn_config 'zapp:create_app()'``).

The access log goes through ``RedactingGunicornLogger``, so the ``api-key``
query parameter, signatures and webhook tokens never reach it.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 - a container binds all
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
logger_class = "zapp.logs.RedactingGunicornLogger"
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
# gunicorn 27's control socket defaults to one path per user; several servers on one machine
# (tests, the demo) would fight over it, and zapp does not use it.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Say when a worker has loaded the app and takes requests: "Booting worker" comes before the
    import, so only this line tells a deploy (or a test) that every worker is serving."""
    worker.log.info("Worker ready (pid: %s)", worker.pid)
