"""Every way a framed page or one of its follow-up calls is refused.

Each refusal carries an English message id (marked for extraction) that is
localized when the answer is rendered, in the page's language. The messages
are short on purpose: a refused page says what the person can do, never why
a check failed (that goes to the log, without secrets).
"""

from __future__ import annotations

from ..i18n import N_


class PageRefusal(Exception):
    """A refusal with a status, a stable code and a message id to localize."""

    status = 400
    code = "bad_request"
    message = N_("This page could not be opened. Open it again from Zenvia Sales.")
    template = "pages/error.html"
    retry_after: int | None = None  # seconds, sent as Retry-After and offered to the message as %(seconds)s

    def __init__(
        self,
        detail: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        sales_message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.fields = fields
        self.sales_message = sales_message
        if retry_after is not None:
            self.retry_after = retry_after


class BadSignature(PageRefusal):
    status, code = 403, "bad_signature"
    message = N_("This page could not be opened. Open it again from Zenvia Sales.")


class BadParameters(PageRefusal):
    """A signed URL that names something twice, not at all, or malformed: Sales never sends one."""

    status, code = 400, "bad_parameters"
    message = N_("This link is incomplete or damaged. Open the page again from Zenvia Sales.")


class UnknownInstance(PageRefusal):
    status, code = 404, "unknown_instance"
    message = N_("This App is not installed for this group.")


class InstanceDisabled(PageRefusal):
    status, code = 403, "instance_disabled"
    message = N_(
        "This App is disabled for your account. An administrator can enable it again in Zenvia Sales."
    )
    template = "pages/disabled.html"


class ContextMissing(PageRefusal):
    status, code = 401, "context_missing"
    message = N_("This page has expired. Close it and open it again from Zenvia Sales.")


class ContextMismatch(PageRefusal):
    """A valid token used for another page, prospect or instance than the one it was issued for."""

    status, code = 403, "context_mismatch"
    message = N_("This action does not belong to the page it came from. Open the page again.")


class ForeignProspect(PageRefusal):
    status, code = 403, "foreign_prospect"
    message = N_("This contact is outside the groups this App covers.")


class ProspectNotFound(PageRefusal):
    status, code = 404, "prospect_not_found"
    message = N_("This contact no longer exists in Zenvia Sales.")


class UnsupportedBody(PageRefusal):
    status, code = 415, "unsupported_media_type"
    message = N_("Send the request as JSON (or multipart for files).")


class SalesRefused(PageRefusal):
    status, code = 502, "sales_refused"
    message = N_("Zenvia Sales refused the request. Ask an administrator to check the App's installation.")


class SalesUnavailable(PageRefusal):
    """Sales is down, failing, rate limiting past the page's budget, or its key is unreadable."""

    status, code = 503, "sales_unavailable"
    message = N_("Zenvia Sales is not answering right now. Try again in %(seconds)s s.")
    retry_after = 10  # (inferred) when Sales gave no hint: long enough to matter, short for a person


class AppRecovering(SalesUnavailable):
    """Sales may be fine: the App's own rate-limit budget could not be read (Redis or the database
    recovering), so nothing was sent. Saying "Sales is not answering" would send people to the
    wrong place."""

    code = "app_recovering"
    message = N_(
        "This App is recovering from a brief outage of its own. Nothing was sent; try again in %(seconds)s s."
    )


class SalesTimeout(SalesUnavailable):
    """Sales did not answer within the page's budget (``ZAPP_SALES_REQUEST_BUDGET``)."""

    status, code = 504, "sales_timeout"


class InvalidInput(PageRefusal):
    """A follow-up call whose fields fail validation; ``fields`` says which and why."""

    status, code = 422, "invalid_fields"
    message = N_("Some fields need your attention.")


class ActionRefusedBySales(PageRefusal):
    """Sales refused an action; its own message travels in ``sales_message`` for the person to read."""

    status, code = 422, "sales_refused"
    message = N_("Zenvia Sales refused this action.")


class OfflineAgentNotConfirmed(PageRefusal):
    """A transfer to an agent Sales does not list as online, sent without the person's confirmation."""

    status, code = 409, "agent_offline"
    message = N_("This agent is not online now. Confirm to transfer anyway.")


class ActAsUserMissing(PageRefusal):
    status, code = 409, "act_as_user_missing"
    message = N_(
        "Zenvia Sales has no user for this App to act as. An administrator can choose one in the "
        "App's integration settings in Zenvia Sales (act as user); then try again."
    )


class WindowClosed(PageRefusal):
    status, code = 409, "window_closed"
    message = N_(
        "The conversation window on this channel is closed: the contact has not written in the last "
        "24 hours. Send a template instead."
    )


class ActionInProgress(PageRefusal):
    status, code = 409, "action_in_progress"
    message = N_("This action is already being sent. Wait a moment.")


class ActionOutcomeUnknown(PageRefusal):
    status, code = 409, "action_outcome_unknown"
    message = N_(
        "Zenvia Sales did not confirm this action in time. Check the contact's Timeline before trying again."
    )


class IdempotencyKeyMisuse(PageRefusal):
    status, code = 422, "idempotency_key_reused"
    message = N_("This action was already sent with different content. Reload the dialog and try again.")


class FileRefused(PageRefusal):
    status, code = 422, "file_refused"
    message = N_("This file cannot be sent.")


class BadRange(PageRefusal):
    """A report period Sales never offers; the message (from ``reports.ranges``) says what is wrong."""

    status, code = 400, "bad_range"

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(detail)
        self.message = message
