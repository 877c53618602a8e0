"""The pages blueprint: what Sales frames (dialogs, reports) and the manifest that declares them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response
from flask.blueprints import BlueprintSetupState

from ..installations.errors import (
    GroupNotCovered,
    InstallationDisabled,
    InstallationError,
    InstallationNotFound,
    KeyUnreadable,
)
from .context import ContextTokens
from .guards import refuse_unguarded
from .headers import default_security_headers, framed_page_headers
from .refusals import (
    ContextMismatch,
    InstanceDisabled,
    PageRefusal,
    SalesUnavailable,
    UnknownInstance,
)
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
    state.app.register_error_handler(InstallationError, render_installation_refusal)


# What an installation's refusal means to a person looking at a page.
_REFUSALS: dict[type[InstallationError], type[PageRefusal]] = {
    InstallationNotFound: UnknownInstance,
    InstallationDisabled: InstanceDisabled,
    GroupNotCovered: ContextMismatch,
    KeyUnreadable: SalesUnavailable,
}


def render_installation_refusal(error: InstallationError) -> Response:
    """The page refusal for an installation that could not be found or used (the lifecycle and
    webhook blueprints answer these in their own words first)."""
    return render_refusal(_REFUSALS.get(type(error), UnknownInstance)(str(error)))
