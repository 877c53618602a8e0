"""zapp: a Zenvia Sales App backend. ``create_app()`` wires the pieces together, nothing else."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported inside the functions: `import zapp.sales` must not load Flask and the app
    from flask import Flask

    from .config import Config

__version__ = "0.1.0"
log = logging.getLogger(__name__)


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """Build the app from ``env`` (default: the process environment).

    A missing or malformed secret stops the process with one line naming the
    variable, before anything listens.
    """
    from flask import Flask

    from .assets import STATIC_DIR, TEMPLATES_DIR
    from .errors import register_error_handlers
    from .web import register_request_hooks

    app = Flask(
        __name__, instance_relative_config=True, template_folder=TEMPLATES_DIR, static_folder=STATIC_DIR
    )
    config = _load_config_or_exit(app, env)
    _configure_flask(app, config)
    register_extensions(app, config)
    register_request_hooks(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def _load_config_or_exit(app: Flask, env: Mapping[str, str] | None) -> Config:
    from .config import ConfigError, load_config
    from .logs import configure_logging

    if env is None:
        _read_dotenv()
        env = os.environ
    try:
        config = load_config(env, instance_path=app.instance_path)
    except ConfigError as error:
        sys.stderr.write(f"zapp: configuration error: {error}\n")
        raise SystemExit(2) from None
    configure_logging(config.log_level, config.log_format, config.secret_values)
    if config.generated and config.mode == "demo":
        log.warning(
            "demo mode: generated throwaway %s; they live as long as this process",
            ", ".join(config.generated),
        )
    return config


def _read_dotenv() -> None:
    """A ``.env`` file in the working directory helps in development; it never overrides the environment."""
    if os.environ.get("ZAPP_MODE", "production") != "test":
        from dotenv import load_dotenv

        load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)


def _configure_flask(app: Flask, config: Config) -> None:
    from flask.json.provider import DefaultJSONProvider

    from .assets import static_url_builder
    from .config import MAX_BODY_BYTES

    app.config.update(
        ZAPP_VERSION=__version__,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        TESTING=config.mode == "test",
        SECRET_KEY=config.signing_keys[0],
    )
    app.url_map.merge_slashes = False  # never answer a 308 for "//lifecycle"
    app.jinja_env.globals["static_url"] = static_url_builder()
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False  # answers keep the order their schemas give


def register_extensions(app: Flask, config: Config) -> None:
    from .extensions import build_services

    app.extensions["zapp"] = build_services(config, app.instance_path)


def register_blueprints(app: Flask) -> None:
    from . import lifecycle, ops, pages, webhooks

    app.register_blueprint(ops.bp)
    app.register_blueprint(lifecycle.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(webhooks.bp)


def register_commands(app: Flask) -> None:
    from .cli import register_commands as register

    register(app)
