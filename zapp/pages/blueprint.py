"""The pages blueprint: what Sales frames (dialogs, reports) and the manifest that declares them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from .context import ContextTokens
from .guards import refuse_unguarded
from .headers import default_security_headers, framed_page_headers
from .refusals import PageRefusal
from .rendering import render_refusal

bp = Blueprint("pages", __name__)
bp.before_request(refuse_unguarded)  # fails closed: an endpoint nobody marked is refused
bp.after_request(framed_page_headers)
bp.after_app_request(default_security_headers)


@dataclass(frozen=True)
class PagesServices:
    """Per-app state of the pages: only the token minter, built from the app's signing keys."""

    tokens: ContextTokens


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    config = state.app.extensions["zapp"].config
    state.app.extensions["zapp_pages"] = PagesServices(tokens=ContextTokens(config.signing_keys))
    # App-wide, so any follow-up endpoint guarded by ``require_context`` answers the same way.
    state.app.register_error_handler(PageRefusal, render_refusal)
