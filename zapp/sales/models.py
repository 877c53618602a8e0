"""Sales' models, written once from the reference (../shared/spec/sales-models.md and the seed).

Both sides are built from this module: the client turns every answer into
these typed objects, and the sandbox checks every answer and webhook
envelope it sends against them, so the two cannot drift apart unnoticed.

A model is a ``SalesObject``: a ``dict`` (what Sales sent, unknown fields
kept, as stripe-python's objects do) with attribute access for the declared
fields. ``load`` checks each declared field's type and raises
``InvalidAnswer`` naming the field (``leads[0].priority``) on a mismatch;
it never turns a wrong value into ``None``. Values stay as Sales sent them
(date-times are checked ISO 8601 strings), so a loaded object serializes
back to exactly the JSON that came in.

The checks are hand-written type tests rather than a schema library's
loaders because the sandbox validates every page it serves (up to 1000
prospects each) and the import reads tens of thousands: a loader must cost
microseconds per object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, cast

from .errors import SalesError

OBJECT_ID = re.compile(r"^[a-z0-9]{24}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


class InvalidAnswer(SalesError):
    """Sales (or the sandbox) sent a value of the wrong type; ``field`` names where (``leads[0].type``)."""

    def __init__(self, message: str, *, field: str, model: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field
        self.model = model


# -- field types ---------------------------------------------------------------------------
# A type is a function (value, path) -> error text or None. Models are types too (``_model_type``).

Check = Callable[[Any, str], "str | None"]


def _string(value: Any, path: str) -> str | None:
    return None if isinstance(value, str) else f"{path} must be a string"


def _object_id(value: Any, path: str) -> str | None:
    if isinstance(value, str) and OBJECT_ID.fullmatch(value):
        return None
    return f"{path} must be an id (^[a-z0-9]{{24}}$)"


def _date_time(value: Any, path: str) -> str | None:
    if isinstance(value, str) and DATE_TIME.fullmatch(value):
        return None
    return f"{path} must be an ISO 8601 date-time string"


def _number(value: Any, path: str) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else f"{path} must be a number"


def _boolean(value: Any, path: str) -> str | None:
    return None if isinstance(value, bool) else f"{path} must be a boolean"


def _object(value: Any, path: str) -> str | None:
    return None if isinstance(value, Mapping) else f"{path} must be an object"


def _any(value: Any, path: str) -> str | None:
    return None


STRING: Check = _string
ID: Check = _object_id
DATE_TIME_STRING: Check = _date_time
NUMBER: Check = _number
BOOLEAN: Check = _boolean
OBJECT: Check = _object
ANY: Check = _any


def one_of(*checks: Check) -> Check:
    """A value that passes any of ``checks`` (e.g. ``sku``: the seed shows a number, the client a string)."""

    def check(value: Any, path: str) -> str | None:
        errors = [check(value, path) for check in checks]
        return None if None in errors else " or ".join(e for e in errors if e)

    return check


def list_of(item: Check | type[SalesObject]) -> Check:
    item_check = _as_check(item)

    def check(value: Any, path: str) -> str | None:
        if not isinstance(value, list):
            return f"{path} must be an array"
        for index, element in enumerate(value):
            error = item_check(element, f"{path}[{index}]")
            if error:
                return error
        return None

    return check


def map_of(item: Check) -> Check:
    def check(value: Any, path: str) -> str | None:
        if not isinstance(value, Mapping):
            return f"{path} must be an object"
        for key, element in value.items():
            error = item(element, f"{path}.{key}")
            if error:
                return error
        return None

    return check


def _as_check(spec: Check | type[SalesObject]) -> Check:
    if isinstance(spec, type) and issubclass(spec, SalesObject):
        return spec.check
    return cast(Check, spec)


# -- the base ------------------------------------------------------------------------------


class SalesObject(dict):
    """A Sales JSON object: every field Sales sent (unknown ones too), declared ones type-checked.

    ``FIELDS`` maps each documented field to its type; ``REQUIRED`` lists those
    an answer must carry. A field may be absent; ``null`` is accepted for an
    optional field *(inferred: no source shows a null, so a null is read as
    "no value" rather than refused)*.
    """

    FIELDS: ClassVar[dict[str, Check | type[SalesObject]]] = {}
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    def __getattr__(self, name: str) -> Any:
        if name in type(self).FIELDS:
            return self.get(name)
        raise AttributeError(f"{type(self).__name__} has no field {name!r}")

    @classmethod
    def check(cls, value: Any, path: str = "") -> str | None:
        """The first problem with ``value`` as this model (a text naming the field), or None."""
        if not isinstance(value, Mapping):
            return f"{path or cls.__name__} must be an object"
        prefix = f"{path}." if path else ""
        for name in cls.REQUIRED:
            if value.get(name) is None:
                return f"{prefix}{name} is required"
        for name, spec in cls.FIELDS.items():
            field_value = value.get(name)
            if field_value is None:
                continue
            error = _as_check(spec)(field_value, prefix + name)
            if error:
                return error
        return None

    @classmethod
    def load(cls, value: Any, *, where: str = "") -> Any:
        """``value`` as this model, nested models typed too; ``InvalidAnswer`` names a wrong field."""
        error = cls.check(value)
        if error:
            field = error.split(" ", 1)[0]
            raise InvalidAnswer(
                f"{where + ': ' if where else ''}{cls.__name__}: {error}", field=field, model=cls.__name__
            )
        return cls._wrap(value)

    @classmethod
    def shape(cls, record: Mapping[str, Any]) -> dict[str, Any]:
        """What Sales would send for ``record``: the declared fields only, nested models shaped too,
        fields without a value left out (the sandbox builds its answers with this)."""
        if not cls.FIELDS:  # an untyped object in the reference: sent as made
            return dict(record)
        shaped: dict[str, Any] = {}
        for name, spec in cls.FIELDS.items():
            value = record.get(name)
            if value is None:
                continue
            shaped[name] = _shape_value(spec, value)
        return shaped

    @classmethod
    def _wrap(cls, value: Mapping[str, Any]) -> SalesObject:
        typed = cls(value)
        for name, spec in cls.FIELDS.items():
            inner = typed.get(name)
            if inner is None:
                continue
            typed[name] = _wrap_value(spec, inner)
        return typed


def _wrap_value(spec: Any, value: Any) -> Any:
    if isinstance(spec, type) and issubclass(spec, SalesObject):
        return spec._wrap(value)
    item = getattr(spec, "item_model", None)
    if item is not None and isinstance(value, list):
        return [item._wrap(element) for element in value]
    return value


def _shape_value(spec: Any, value: Any) -> Any:
    if isinstance(spec, type) and issubclass(spec, SalesObject) and isinstance(value, Mapping):
        return spec.shape(value)
    item = getattr(spec, "item_model", None)
    if item is not None and isinstance(value, list):
        return [item.shape(element) if isinstance(element, Mapping) else element for element in value]
    return value


def list_of_model(model: type[SalesObject]) -> Check:
    """``list_of`` for a model, remembering the model so that loaded items are typed objects."""
    check = list_of(model)
    check.item_model = model  # type: ignore[attr-defined]
    return check


def load_list(model: type[SalesObject], value: Any, *, where: str = "") -> list[Any]:
    """A JSON array of ``model`` items, each typed; ``InvalidAnswer`` names the first wrong field."""
    if not isinstance(value, list):
        raise InvalidAnswer(f"{where + ': ' if where else ''}expected an array of {model.__name__}",
                            field="", model=model.__name__)  # fmt: skip
    return [_load_item(model, item, index, where) for index, item in enumerate(value)]


def _load_item(model: type[SalesObject], item: Any, index: int, where: str) -> Any:
    error = model.check(item, f"[{index}]")
    if error:
        field = error.split(" ", 1)[0]
        raise InvalidAnswer(
            f"{where + ': ' if where else ''}{model.__name__}: {error}", field=field, model=model.__name__
        )
    return model._wrap(item)


# -- 2.1 shared small models ---------------------------------------------------------------


class Nin(SalesObject):
    """National identification number (seed L48, L77-81)."""

    FIELDS = {"type": STRING, "number": STRING}


class Agent(SalesObject):
    """The agent reference in prospects, interactions, transfer lists and online agents (L409-416)."""

    FIELDS = {
        "id": ID, "firstName": STRING, "lastName": STRING, "email": STRING, "phone": STRING,
        "legacyId": STRING, "externalId": OBJECT, "appFields": OBJECT,
    }  # fmt: skip
    REQUIRED = ("id",)


class MoneyAmount(SalesObject):
    FIELDS = {"amount": NUMBER, "currency": STRING}


class Product(SalesObject):
    """A lead's product (retail, L119-128); other lead types add fields, kept as unknown ones."""

    FIELDS = {"make": STRING, "model": STRING, "detail": STRING, "sku": one_of(NUMBER, STRING),
              "price": MoneyAmount}  # fmt: skip


# -- 2.2 / 2.3 prospects and their leads ---------------------------------------------------


class LeadData(SalesObject):
    """A lead as stored inside a prospect (L394-408).

    ``utmMedium`` and ``utmCampaign`` are not in the seed's LeadData; they are the lead's own fields
    (L42-43) and are read when present *(inferred: the sandbox keeps them on stored leads; webhook
    summaries never carry them)*.
    """

    FIELDS = {
        "priority": NUMBER, "created": DATE_TIME_STRING, "createdBy": ID, "source": STRING,
        "comments": STRING, "utmSource": STRING, "utmMedium": STRING, "utmCampaign": STRING,
        "providerKey": STRING, "company": STRING, "store": STRING, "agent": STRING, "type": STRING,
        "product": Product,
    }  # fmt: skip


class Prospect(SalesObject):
    """What GET /prospect/{id}, the list, archive, PATCH and DELETE answer (L369-420)."""

    FIELDS = {
        "id": ID, "created": DATE_TIME_STRING, "account": STRING, "accountId": ID,
        "group": STRING, "groupId": ID, "initialGroup": STRING, "initialGroupId": ID,
        "firstName": STRING, "label": STRING, "lastName": STRING, "category": STRING,
        "status": STRING, "nin": list_of_model(Nin), "userMade": BOOLEAN, "archivingReason": STRING,
        "phones": list_of(STRING), "emails": list_of(STRING), "additionalData": OBJECT,
        "merged": BOOLEAN, "absenceMessage": STRING, "leads": list_of_model(LeadData), "agent": Agent,
        "assigned": DATE_TIME_STRING, "nextReminder": DATE_TIME_STRING,
        "firstContactedAt": DATE_TIME_STRING, "sentWorkingHourMessage": DATE_TIME_STRING,
        "facebookDueAt": DATE_TIME_STRING, "instagramDueAt": DATE_TIME_STRING,
        "whatsAppDueAt": DATE_TIME_STRING,
    }  # fmt: skip
    REQUIRED = ("id",)


class ProspectSearchResult(SalesObject):
    """The short answer of the search by email/phone (L358-366); ``account`` is an id here."""

    FIELDS = {"id": ID, "firstName": STRING, "phones": list_of(STRING), "account": STRING,
              "claimedBy": ID}  # fmt: skip
    REQUIRED = ("id",)


# -- 2.5 interactions ----------------------------------------------------------------------


class Attachment(SalesObject):
    FIELDS = {"type": STRING, "url": STRING, "location": OBJECT, "contacts": OBJECT}


class OutputMessage(SalesObject):
    FIELDS = {
        "providerId": STRING, "template": STRING, "body": STRING, "content": STRING,
        "delivered": BOOLEAN, "sender": STRING, "recipient": STRING, "attachment": Attachment,
        "via": STRING,
    }  # fmt: skip


class OutputQuestion(SalesObject):
    FIELDS = {
        "id": STRING, "providerId": STRING, "threadTitle": STRING, "threadUrl": STRING,
        "question": STRING, "answer": STRING, "delivered": BOOLEAN, "cancelReason": STRING,
    }  # fmt: skip


class ProposalItem(SalesObject):
    FIELDS = {"price": STRING, "concept": STRING}  # a string here (L497), a number in QuoteItem


class Proposal(SalesObject):
    FIELDS = {"firstCreatedAt": DATE_TIME_STRING, "items": list_of_model(ProposalItem), "status": STRING}


class Conversation(SalesObject):
    FIELDS = {
        "_id": ID, "channel": STRING, "providerName": STRING, "threadTitle": STRING,
        "threadSubtitle": STRING, "threadThumbnail": STRING,
    }  # fmt: skip


class InteractionOutput(SalesObject):
    """``Interaction.output`` (L467-526)."""

    FIELDS = {
        "comment": STRING, "reminder": DATE_TIME_STRING, "visitScheduled": DATE_TIME_STRING,
        "question": OutputQuestion, "message": OutputMessage, "rejectionReason": STRING,
        "proposal": Proposal, "status": STRING, "visitSuccessful": BOOLEAN, "callSuccessful": BOOLEAN,
        "webAction": STRING, "transferedTo": Agent, "transferedToAgentId": ID,
        "transferedToGroupId": ID, "response": STRING,
        "conversations": list_of_model(Conversation), "customEvent": OBJECT,
    }  # fmt: skip


class Interaction(SalesObject):
    """An interaction (L448-527); ``via`` is a string (the seed wins over the client's object)."""

    FIELDS = {
        "id": ID, "agentId": ID, "agent": Agent, "bot": BOOLEAN, "prospectId": ID,
        "createdAt": DATE_TIME_STRING, "dueAt": DATE_TIME_STRING, "startedAt": DATE_TIME_STRING,
        "finishedAt": DATE_TIME_STRING, "status": STRING, "proactive": BOOLEAN, "via": STRING,
        "output": InteractionOutput,
    }  # fmt: skip
    REQUIRED = ("id",)


class ProspectCreated(Prospect):
    """The answer of every POST /lead/*: a prospect plus the interactions the lead made (L129-262)."""

    FIELDS = {**Prospect.FIELDS, "interactions": list_of_model(Interaction)}


# -- 2.6 messaging -------------------------------------------------------------------------


class Template(SalesObject):
    FIELDS = {"key": STRING, "name": STRING, "body": STRING, "template": STRING}


class Channel(SalesObject):
    FIELDS = {"channel": STRING, "channelId": STRING, "templates": list_of_model(Template)}
    REQUIRED = ("channel",)


class SendFileAnswer(SalesObject):
    """The seed's send-file sample (L772-773); whether it is the success body is *(not stated)*."""

    FIELDS = {"message": STRING, "code": STRING}


# -- 2.7 / 2.8 integration, groups, agents ------------------------------------------------


class Integration(SalesObject):
    """GET /integration (L951-959): ``group``/``account`` are names, ``user`` an id."""

    FIELDS = {
        "id": ID, "name": STRING, "providerKey": STRING, "groupId": ID, "group": STRING, "user": ID,
        "language": STRING, "account": STRING, "accountId": ID,
    }  # fmt: skip
    REQUIRED = ("id", "groupId")


class GroupNode(SalesObject):
    """A group of the tree (L987-999); ``id`` is a plain string in both sources."""

    FIELDS = {
        "id": STRING, "displayName": STRING, "name": STRING, "parent": STRING,
        "ancestors": list_of(STRING), "descendants": list_of(STRING), "type": list_of(STRING),
        "timezone": STRING, "countryCode": STRING,
    }  # fmt: skip
    REQUIRED = ("id",)


class Group(SalesObject):
    """A transfer target group (L871-874)."""

    FIELDS = {"id": ID, "name": STRING}
    REQUIRED = ("id",)


class GroupUserTransferable(SalesObject):
    """GET /as-user/transfer (L860-876)."""

    FIELDS = {"agents": list_of_model(Agent), "groups": list_of_model(Group)}


class OnlineAgents(SalesObject):
    """GET /group/{id}/agents/online (L1032-1043)."""

    FIELDS = {"officeHours": BOOLEAN, "agents": list_of_model(Agent)}


# -- 2.9 handoff ---------------------------------------------------------------------------


class TransferResult(SalesObject):
    """POST /prospect/{id}/transfer (L624); the as-user transfer adds ``error`` (L883-884)."""

    FIELDS = {"success": BOOLEAN, "error": STRING}
    REQUIRED = ("success",)


class ArchivingReason(SalesObject):
    FIELDS = {"reason": STRING, "name": STRING}
    REQUIRED = ("reason",)


class ProspectLabel(SalesObject):
    FIELDS = {"key": STRING, "name": STRING}
    REQUIRED = ("key",)


class ProspectAdditionalField(SalesObject):
    FIELDS = {"key": STRING, "name": STRING}


# -- 2.10 quotes ---------------------------------------------------------------------------


class QuoteItem(SalesObject):
    FIELDS = {"quantity": NUMBER, "price": NUMBER, "concept": STRING, "code": STRING, "product": STRING}
    REQUIRED = ("quantity",)


class Quote(SalesObject):
    FIELDS = {
        "id": ID, "prospectId": ID, "status": STRING, "items": list_of_model(QuoteItem), "total": NUMBER,
        "createdAt": DATE_TIME_STRING, "rejectedAt": DATE_TIME_STRING, "acceptedAt": DATE_TIME_STRING,
        "finishedAt": DATE_TIME_STRING, "additionalData": OBJECT,
    }  # fmt: skip
    REQUIRED = ("id", "status", "createdAt")


QUOTE_STATUSES = ("pending", "accepted", "rejected")


# -- 2.11 notifications --------------------------------------------------------------------


class Subscription(SalesObject):
    FIELDS = {"id": ID, "topics": list_of(STRING), "callbackUrl": STRING}
    REQUIRED = ("id", "topics", "callbackUrl")


class Topic(SalesObject):
    FIELDS = {"name": STRING, "description": STRING}
    REQUIRED = ("name",)


class SubscriptionsModified(SalesObject):
    FIELDS = {"modified": NUMBER}
    REQUIRED = ("modified",)


TOPIC_NAMES = ("prospects", "interactions", "quotes", "agents")  # seed L1044


# -- 2.16 other client-only models ---------------------------------------------------------


class Defaults(SalesObject):
    FIELDS = {"currency": STRING, "distance": STRING}


class Industry(SalesObject):
    FIELDS = {"name": STRING}


class ProspectsPaginated(SalesObject):
    FIELDS = {"contacts": list_of_model(Prospect), "total": NUMBER}


class OrderByProspect(SalesObject):
    FIELDS = {"orderId": STRING, "createdAt": STRING, "items": list_of(OBJECT)}


class CsatAnswer(SalesObject):
    """POST /prospect/{id}/csat answers an untyped object in the client."""


class Flag(SalesObject):
    """The untyped ``object`` answers (is-working, response-time)."""


class ErrorBody(SalesObject):
    """Sales' error body (L772-773)."""

    FIELDS = {"message": STRING, "code": STRING}


# -- 2.12 webhook envelopes ----------------------------------------------------------------


class SummaryAgent(SalesObject):
    FIELDS = {"id": STRING, "firstName": STRING, "lastName": STRING, "phone": STRING, "email": STRING}


class SummaryLead(SalesObject):
    """A lead in a prospect summary (L1092-1102): the seed's example has ``created: "string"``."""

    FIELDS = {
        "created": STRING, "createdBy": STRING, "source": STRING, "utmSource": STRING,
        "providerKey": STRING, "comments": STRING, "type": STRING,
    }  # fmt: skip


class ProspectSummary(SalesObject):
    """An item of an envelope's ``prospect[]`` (L1073-1112): ``agent`` is an **array** here."""

    FIELDS = {
        "id": STRING, "created": DATE_TIME_STRING, "group": STRING, "groupId": STRING,
        "account": STRING, "accountId": STRING, "initialGroup": STRING, "initialGroupId": STRING,
        "firstName": STRING, "lastName": STRING, "category": STRING, "userMade": BOOLEAN,
        "status": STRING, "additionalData": OBJECT, "phones": list_of(STRING),
        "contactMediums": list_of(OBJECT), "leads": list_of_model(SummaryLead),
        "agent": list_of_model(SummaryAgent), "assigned": DATE_TIME_STRING,
        "firstContactedAt": DATE_TIME_STRING,
    }  # fmt: skip


_ENVELOPE = {
    "subscriptionId": STRING, "topic": STRING, "type": STRING, "received": DATE_TIME_STRING,
    "sent": DATE_TIME_STRING, "attempts": NUMBER, "prospect": list_of_model(ProspectSummary),
    "updatedAt": DATE_TIME_STRING, "operationId": STRING,
}  # fmt: skip


class ProspectsEnvelope(SalesObject):
    """The ``prospects`` topic (L1053-1119)."""

    FIELDS = {**_ENVELOPE, "whatsAppDueAt": DATE_TIME_STRING, "facebookDueAt": DATE_TIME_STRING,
              "updates": list_of(OBJECT)}  # fmt: skip
    REQUIRED = ("topic", "type")


class InteractionsEnvelope(SalesObject):
    """The ``interactions`` topic (L1125-1265)."""

    FIELDS = {**_ENVELOPE, "interaction": Interaction}
    REQUIRED = ("topic", "type")


class AgentsEnvelope(SalesObject):
    """The ``agents`` topic (L1266-1329); ``updates`` on a transfer (L1329)."""

    FIELDS = {**_ENVELOPE, "updates": list_of(OBJECT)}
    REQUIRED = ("topic", "type")


class QuotesEnvelope(SalesObject):
    """The ``quotes`` topic: the seed only names it (L1044). The common fields plus ``quote`` are
    *(inferred)*, see ``zapp.sandbox.inferred``."""

    FIELDS = {**_ENVELOPE, "quote": Quote}
    REQUIRED = ("topic", "type")


ENVELOPES: dict[str, type[SalesObject]] = {
    "prospects": ProspectsEnvelope,
    "interactions": InteractionsEnvelope,
    "agents": AgentsEnvelope,
    "quotes": QuotesEnvelope,
}
EVENT_TYPES = ("created", "updated")


def load_envelope(payload: Any) -> SalesObject:
    """A webhook body as its topic's envelope model (``InvalidAnswer`` for an unknown topic or type)."""
    topic = payload.get("topic") if isinstance(payload, Mapping) else None
    model = ENVELOPES.get(topic) if isinstance(topic, str) else None
    if model is None:
        raise InvalidAnswer(f"unknown webhook topic {topic!r}", field="topic", model="Envelope")
    if payload.get("type") not in EVENT_TYPES:
        raise InvalidAnswer("type must be created or updated", field="type", model=model.__name__)
    return model.load(payload, where=f"{topic} envelope")
