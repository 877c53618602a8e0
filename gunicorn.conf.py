# gunicorn reads this file from the working directory; the settings live in the package.
from zapp.gunicorn_config import *  # noqa: F403
