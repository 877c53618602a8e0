"""The Messages dialog: send a WhatsApp (or Messenger) template, a free-text message or a file.

The dialog paints from the signed URL alone; channels, templates and the
conversation windows come after first paint from ``/dialogs/messages/data``.
Each send is a follow-up call with the page's context token and an
idempotency key, so a double click sends once.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy import select

from ...i18n import N_
from ...installations.lookup import ResolvedInstance
from ...models import StoredProspect
from ...openapi import documented
from ...sales import SalesClient
from ...vocabulary import CHANNEL_LABELS
from ..actions import ACTION_ERRORS, Action, load_action, page_action, perform_once
from ..blueprint import bp
from ..context import FollowUp, require_context
from ..extension_points import Page, dialog
from ..refusals import FileRefused, ProspectNotFound, WindowClosed
from ..rendering import page_url, render_page, script_strings
from ..sales_calls import checked_prospect, sales_client_for
from ..schemas import (
    ActionResultSchema,
    ChannelActionSchema,
    FileSendSchema,
    MessagesDataSchema,
    ProspectQuerySchema,
    TemplateSendSchema,
    TextSendSchema,
)
from .messages_content import (
    FILE_KINDS,
    MAX_FILE_BYTES,
    conversation_windows,
    file_kind,
    safe_filename,
    shape_channels,
    sniff_file,
)
from .timeline_content import contact_summary

# Multipart overhead on top of the largest file we accept.
UPLOAD_LIMIT = MAX_FILE_BYTES + 64 * 1024

MESSAGES = {
    "loading": N_("Loading the contact's channels…"),
    "failed": N_("The channels could not be loaded. Close the dialog and try again."),
    "noChannels": N_("This contact has no channel to write to."),
    "sending": N_("Sending…"),
    "sent": N_("Sent."),
    "windowOpen": N_("The contact wrote recently: free text is allowed until %(time)s."),
    "windowClosed": N_("Free text is not allowed now: the contact has not written in the last 24 hours."),
    "tooLarge": N_("This file is too large."),
    "wrongType": N_("Send a JPEG or PNG image, a PDF, an MP3 or OGG audio, or an MP4 video."),
    "chooseFile": N_("Choose a file first."),
    "parameterRule": N_("Parameters may not hold line breaks, tabs or four spaces in a row, nor be empty."),
    "writeSomething": N_("Write a message first."),
    "salesSaid": N_("Zenvia Sales said:"),
    "preview": N_("Preview"),
    **CHANNEL_LABELS,
}


_strings = script_strings(messages=MESSAGES)


@dialog(
    "messages",
    name=N_("Messages"),
    icon="messages.png",
    summary="Messages dialog: templates, free text and files to the contact (signed by Sales)",
)
def messages(page: Page) -> Response:
    language = page.language
    prospect = page.prospect
    page_data = {
        "context": page.context_token,
        "language": language,
        "prospect": prospect,
        "urls": {
            "data": page_url("pages.messages_data", prospect=prospect),
            "template": page_url("pages.messages_send_template"),
            "text": page_url("pages.messages_send_text"),
            "file": page_url("pages.messages_send_file"),
        },
        "files": _file_limits(),
    }
    return render_page("pages/dialogs/messages.html", language, page_data=page_data, strings=_strings)


PURPOSE = messages.extension_point.purpose


@bp.get("/dialogs/messages/data")
@documented(
    summary="The Messages dialog's channels, templates and windows (needs X-Zapp-Context)",
    tags=("pages",),
    query=ProspectQuerySchema,
    responses={200: MessagesDataSchema},
    errors=(400, 401, 403, 404, 502, 503),
)
@require_context(purpose=PURPOSE, prospect_from="query:prospect")
def messages_data(followup: FollowUp) -> Response:
    prospect_id = followup.prospect_id
    with sales_client_for(followup.instance, not_found=ProspectNotFound) as client:
        prospect = checked_prospect(client, followup.instance, prospect_id)
        channels = client.list_prospect_channels(prospect_id)
        interactions = client.list_prospect_interactions(prospect_id)
    windows = conversation_windows(interactions, _stored_windows(followup.instance, prospect_id))
    data = {
        "prospect": contact_summary(prospect),
        "channels": shape_channels(channels, prospect, windows),
        "files": _file_limits(),
    }
    return jsonify(MessagesDataSchema().dump(data))


@page_action(
    "/dialogs/messages/template",
    purpose=PURPOSE,
    schema=TemplateSendSchema,
    result=ActionResultSchema,
    summary="Send a template to the dialog's contact, once per Idempotency-Key (needs X-Zapp-Context)",
    blueprint=bp,
)
def messages_send_template(
    _followup: FollowUp, fields: dict[str, Any], client: SalesClient
) -> dict[str, Any]:
    prospect, channel = fields["prospect"], fields["channel"]
    return _result("template", client.send_template(prospect, channel, fields["key"], fields["parameters"]))


@page_action(
    "/dialogs/messages/text",
    purpose=PURPOSE,
    schema=TextSendSchema,
    result=ActionResultSchema,
    summary="Send free text while the conversation window is open, once per Idempotency-Key",
    blueprint=bp,
)
def messages_send_text(followup: FollowUp, fields: dict[str, Any], client: SalesClient) -> dict[str, Any]:
    _require_open_window(followup, client, fields)
    return _result("text", client.send_message(fields["prospect"], fields["channel"], fields["content"]))


def _require_open_window(followup: FollowUp, client: SalesClient, fields: dict[str, Any]) -> None:
    """Free text and files are conversational: Sales takes them only inside the contact's window."""
    interactions = client.list_prospect_interactions(fields["prospect"])
    windows = conversation_windows(interactions, _stored_windows(followup.instance, fields["prospect"]))
    if windows.get(fields["channel"]) is None:
        raise WindowClosed(f"{fields['channel']} window closed")


@bp.post("/dialogs/messages/file")
@documented(
    summary="Send a file (multipart: prospect, channel, file), once per Idempotency-Key",
    tags=("pages",),
    body=FileSendSchema,
    content_type="multipart/form-data",
    responses={200: ActionResultSchema},
    errors=ACTION_ERRORS,
)
@require_context(purpose=PURPOSE, prospect_from="form:prospect")
def messages_send_file(followup: FollowUp) -> Response:
    fields = load_action(ChannelActionSchema(), request.form.to_dict())
    filename, content, kind = _checked_upload()

    def send(client: SalesClient) -> dict[str, Any]:
        checked_prospect(client, followup.instance, fields["prospect"])
        _require_open_window(followup, client, fields)
        sent = client.send_file(fields["prospect"], fields["channel"], filename, content, kind)
        return _result("file", sent)

    digest = {"file": filename, "size": len(content), "sha256": _sha256(content)}
    return perform_once(followup, Action("file", {**fields, **digest}), send)


@bp.before_request
def _allow_uploads() -> None:
    """Only the file endpoint takes bodies above the app's 1 MiB cap."""
    if request.endpoint == "pages.messages_send_file":
        request.max_content_length = UPLOAD_LIMIT
        request.max_form_memory_size = UPLOAD_LIMIT


def _checked_upload() -> tuple[str, bytes, str]:
    upload = request.files.get("file")
    if upload is None or len(request.files.getlist("file")) != 1:
        raise FileRefused("no single file part", fields={"file": N_("Choose a file first.")})
    content = upload.read(MAX_FILE_BYTES + 1)
    mimetype = sniff_file(content[:16])
    kind = file_kind(mimetype)
    if kind is None:
        message = N_("Send a JPEG or PNG image, a PDF, an MP3 or OGG audio, or an MP4 video.")
        raise FileRefused("unsupported file type", fields={"file": message})
    if not content or len(content) > kind.max_bytes:
        raise FileRefused("file too large", fields={"file": N_("This file is too large.")})
    return safe_filename(upload.filename, kind), content, kind.mimetype


def _stored_windows(instance: ResolvedInstance, prospect_id: str | None) -> dict[str, int | None]:
    """The conversation windows Sales' last prospect notification told the store, if any."""
    with current_app.extensions["zapp"].database.reading_session() as session:
        row = session.execute(
            select(StoredProspect.whatsapp_due_ms, StoredProspect.facebook_due_ms).where(
                StoredProspect.instance_id == instance.id, StoredProspect.prospect_id == prospect_id
            )
        ).first()
    return {"whatsapp": row[0], "facebook": row[1]} if row else {}


def _file_limits() -> list[dict[str, Any]]:
    return [
        {"type": kind.mimetype, "maxBytes": kind.max_bytes, "extensions": list(kind.extensions)}
        for kind in FILE_KINDS
    ]


def _result(action: str, sent: Any) -> dict[str, Any]:
    return ActionResultSchema().dump(
        {"done": True, "action": action, "interactions": len(sent) if isinstance(sent, list) else 0}
    )


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
