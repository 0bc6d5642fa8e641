"""The event catalog: every event subkit emits, with a versioned payload schema.

Each :class:`~subkit.core.events.EventType` has an :class:`EventSpec`: its subject, when it
fires, a schema version and a pydantic payload model (strict: ``total`` is an integer, never
``"10.00"``). :func:`envelope` turns an event into the JSON document webhooks carry, and
:func:`json_schema` exports the catalog as JSON Schema (draft 2020-12) for the host's
other systems. A test runs the demo and validates every event it emits against its schema,
and another checks that the catalog table in ``docs/integrations.md`` is
:func:`catalog_markdown`'s output, so the catalog cannot drift from the code.

The payloads carry ids, amounts in minor units, codes and instants only, never a name, an
email or an address: what leaves subkit through events holds no personal data.

Example:
    >>> from datetime import datetime, UTC
    >>> e = Event.of(EventType.INVOICE_FINALIZED, datetime(2027, 1, 1, tzinfo=UTC), "in_1",
    ...              customer_id="cus_1", number="INV-000001", total=1000, currency="USD")
    >>> doc = envelope(e)
    >>> doc["type"], doc["schema_version"], doc["data"]["total"]
    ('invoice.finalized', 1, 1000)
    >>> json_schema(EventType.INVOICE_FINALIZED)["properties"]["data"]["required"]
    ['number', 'total', 'currency']
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict

from subkit.core.events import Event, EventType
from subkit.core.model import Model
from subkit.core.periods import isoformat
from subkit.errors import SubkitError, ValidationError

__all__ = [
    "CATALOG",
    "EventSpec",
    "Payload",
    "catalog_markdown",
    "envelope",
    "envelope_json",
    "json_schema",
    "payload",
]


class Payload(Model):
    """Base of the payload models: strict types, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Empty(Payload):
    """No data: the subject id says it all."""


class CustomerUpdated(Payload):
    """Which fields changed (names only, never their values)."""

    fields: str
    payment_method_id: str | None = None
    subscription_id: str | None = None


class BalanceChanged(Payload):
    """The new credit balance (minor units) and what moved it."""

    balance: int
    invoice_id: str | None = None
    payment_id: str | None = None
    reference: str | None = None


class SubscriptionCreated(Payload):
    """The status it starts in (``trialing`` or ``active``; empty while a first payment is awaited)."""

    status: str


class Renewed(Payload):
    """The cycle invoiced (0 is the first period after a trial)."""

    cycle: int


class ItemChanged(Payload):
    """An item's plan or quantity, before and after (quantities as decimal strings)."""

    item_id: str
    from_plan: str
    to_plan: str
    from_quantity: str
    to_quantity: str


class ChangeScheduled(Payload):
    """A change recorded for later: when (ISO instant) and to what."""

    effective_at: str
    to_plan: str | None = None
    to_quantity: str | None = None


class ScheduleReleased(Payload):
    """How many scheduled changes were released (the subscription keeps its plan)."""

    released: int


class CancelScheduled(Payload):
    """When the cancellation takes effect (ISO instant, the period end)."""

    effective_at: str


class Canceled(Payload):
    """Whether unused time was credited."""

    prorated: bool | None = None


class InvoiceRef(Payload):
    """The invoice whose payment changed the subscription's status."""

    invoice_id: str


class Activated(Payload):
    """Why it became active again (after a recovered payment), if not a trial conversion."""

    reason: str | None = None
    invoice_id: str | None = None


class InvoiceFinalized(Payload):
    """The invoice's number, total (minor units) and currency."""

    number: str
    total: int
    currency: str


class InvoicePaid(Payload):
    """The amount applied by the settling payment or credit (minor units)."""

    amount: int


class CreditNoteIssued(Payload):
    """The credited invoice and amount (minor units)."""

    invoice_id: str
    amount: int


class PaymentSucceeded(Payload):
    """The invoice, the amount (minor units) and how it was paid."""

    invoice_id: str | None
    amount: int
    payment_id: str | None = None
    method: str | None = None
    reference: str | None = None


class PaymentFailed(Payload):
    """The invoice, the attempt number, the amount and the decline details."""

    invoice_id: str
    attempt: int
    amount: int
    decline_code: str | None = None
    hard: bool
    message: str | None = None


class PaymentPending(Payload):
    """A charge accepted that settles later."""

    invoice_id: str
    amount: int
    payment_id: str | None = None


class PaymentRefunded(Payload):
    """The refunded invoice, amount and the gateway's refund id."""

    invoice_id: str
    amount: int
    refund_id: str | None = None


class DunningStep(Payload):
    """A retry scheduled or skipped, or the final action taken."""

    action: str
    retry: int | None = None
    next_at: str | None = None
    final_action: str | None = None
    subscription_id: str | None = None
    uncollectible: bool | None = None


class MethodExpiring(Payload):
    """A card that expires (``YYYY-MM``) before the subscription renews (ISO instant)."""

    subscription_id: str
    expires: str | None
    renews_at: str


class MethodDetached(Payload):
    """A removed payment method: whether it was the default, and the subscriptions that used it."""

    default_cleared: bool
    subscriptions: str


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event type in the catalog: what it is about, when it fires, its payload schema.

    ``version`` grows when a field is removed, renamed or retyped (an added optional
    field keeps it): a consumer switches on ``(type, schema_version)``.

    Example:
        >>> CATALOG[EventType.SUBSCRIPTION_RENEWED].subject, CATALOG[EventType.SUBSCRIPTION_RENEWED].version
        ('subscription', 1)
    """

    type: EventType
    subject: str
    fires: str
    payload: builtins.type[Payload]
    version: int = 1


_T = EventType
_SPECS = (
    (_T.CUSTOMER_CREATED, "customer", "a customer is created", Empty),
    (
        _T.CUSTOMER_UPDATED,
        "customer",
        "a customer's fields or default payment method change",
        CustomerUpdated,
    ),
    (_T.CUSTOMER_BALANCE_CHANGED, "customer", "the credit balance changes", BalanceChanged),
    (_T.SUBSCRIPTION_CREATED, "subscription", "a customer subscribes", SubscriptionCreated),
    (_T.SUBSCRIPTION_RENEWED, "subscription", "a new period is invoiced", Renewed),
    (_T.SUBSCRIPTION_TRIAL_ENDED, "subscription", "the trial's end is reached", Empty),
    (_T.SUBSCRIPTION_PLAN_CHANGED, "subscription", "an item moves to another plan", ItemChanged),
    (_T.SUBSCRIPTION_QUANTITY_CHANGED, "subscription", "an item's quantity changes", ItemChanged),
    (_T.SUBSCRIPTION_CHANGE_SCHEDULED, "subscription", "a change is recorded for later", ChangeScheduled),
    (
        _T.SUBSCRIPTION_SCHEDULE_RELEASED,
        "subscription",
        "pending scheduled changes are released",
        ScheduleReleased,
    ),
    (
        _T.SUBSCRIPTION_CANCEL_SCHEDULED,
        "subscription",
        "a cancellation at period end is requested",
        CancelScheduled,
    ),
    (_T.SUBSCRIPTION_CANCELED, "subscription", "a cancellation takes effect", Canceled),
    (_T.SUBSCRIPTION_REACTIVATED, "subscription", "a pending cancellation is undone", Empty),
    (_T.SUBSCRIPTION_PAUSED, "subscription", "billing is paused", Empty),
    (_T.SUBSCRIPTION_RESUMED, "subscription", "a paused subscription resumes", Empty),
    (_T.SUBSCRIPTION_INCOMPLETE, "subscription", "the first invoice's payment fails", InvoiceRef),
    (_T.SUBSCRIPTION_PAST_DUE, "subscription", "a later payment fails and dunning starts", InvoiceRef),
    (_T.SUBSCRIPTION_UNPAID, "subscription", "dunning ends with the unpaid action", InvoiceRef),
    (_T.SUBSCRIPTION_ACTIVATED, "subscription", "a trial converts or a payment recovers", Activated),
    (_T.INVOICE_FINALIZED, "invoice", "an invoice is numbered and issued", InvoiceFinalized),
    (_T.INVOICE_PAID, "invoice", "nothing is left to pay on an invoice", InvoicePaid),
    (_T.INVOICE_VOIDED, "invoice", "an open invoice is voided", Empty),
    (_T.INVOICE_UNCOLLECTIBLE, "invoice", "an open invoice is written off", Empty),
    (_T.CREDIT_NOTE_ISSUED, "credit_note", "a credit note is issued", CreditNoteIssued),
    (
        _T.PAYMENT_SUCCEEDED,
        "payment_attempt",
        "a charge succeeds or a bank transfer is matched",
        PaymentSucceeded,
    ),
    (_T.PAYMENT_FAILED, "payment_attempt", "a charge is declined or fails", PaymentFailed),
    (_T.PAYMENT_PENDING, "payment_attempt", "a charge is accepted but settles later", PaymentPending),
    (_T.PAYMENT_REFUNDED, "refund", "a refund goes through", PaymentRefunded),
    (_T.DUNNING_STEP, "invoice", "a retry is scheduled or skipped, or the final action taken", DunningStep),
    (_T.PAYMENT_METHOD_EXPIRING, "payment_method", "a card expires before the next renewal", MethodExpiring),
    (
        _T.CUSTOMER_ERASED,
        "customer",
        "a customer's personal data is erased (erase it on your side too)",
        Empty,
    ),
    (
        _T.SUBSCRIPTION_INCOMPLETE_EXPIRED,
        "subscription",
        "the first invoice stayed unpaid past DunningPolicy.incomplete_expires_after",
        Empty,
    ),
    (_T.PAYMENT_METHOD_DETACHED, "payment_method", "a payment method is removed", MethodDetached),
)

#: Every event type subkit emits, with its spec.
CATALOG: dict[EventType, EventSpec] = {
    t: EventSpec(t, subject, fires, model) for t, subject, fires, model in _SPECS
}


def _spec(type: EventType) -> EventSpec:
    found = CATALOG.get(type)
    if found is None:
        raise ValidationError(
            f"event type {type.value!r} has no payload schema; add it to subkit.integration.catalog",
            field="type",
        )
    return found


def payload(event: Event) -> Payload:
    """The event's data, validated against its type's payload model.

    Example:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> payload(Event.of(EventType.SUBSCRIPTION_RENEWED, at, "sub_1", cycle=3))
        Renewed(cycle=3)
    """
    model = _spec(event.type).payload
    err = None
    try:
        return model.model_validate(event.data)
    except SubkitError as exc:
        err = ValidationError(f"{event.type.value} payload: {exc.message}", field=exc.field)
    raise err


def envelope(event: Event) -> dict[str, Any]:
    """The JSON-ready document a webhook carries for ``event`` (data checked against the schema).

    Example:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> e = Event.of(EventType.INVOICE_VOIDED, at, "in_1", customer_id="cus_1")
        >>> envelope(e)["occurred_at"], envelope(e)["data"]
        ('2027-01-01T00:00:00+00:00', {})
    """
    spec = _spec(event.type)
    data = payload(event).model_dump(exclude_unset=True)
    return {
        "id": event.id,
        "type": event.type.value,
        "schema_version": spec.version,
        "occurred_at": isoformat(event.occurred_at),
        "subject_id": event.subject_id,
        "customer_id": event.customer_id,
        "data": data,
    }


def envelope_json(event: Event) -> bytes:
    """:func:`envelope` as compact UTF-8 JSON: the exact bytes a webhook body carries and signs.

    Example:
        >>> from datetime import datetime, UTC
        >>> envelope_json(Event.of(EventType.INVOICE_VOIDED, datetime(2027, 1, 1, tzinfo=UTC), "in_1"))[:8]
        b'{"id":"e'
    """
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()


_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _envelope_schema(spec: EventSpec) -> dict[str, Any]:
    data = spec.payload.model_json_schema()
    data.pop("title", None)
    return {
        "title": spec.type.value,
        "description": f"Fires when {spec.fires}.",
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "schema_version", "occurred_at", "subject_id", "customer_id", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_[0-9a-f]{24}$"},
            "type": {"const": spec.type.value},
            "schema_version": {"const": spec.version},
            "occurred_at": {"type": "string", "format": "date-time"},
            "subject_id": {"type": "string", "description": f"the {spec.subject}'s id"},
            "customer_id": {"type": ["string", "null"]},
            "data": data,
        },
    }


def json_schema(type: EventType | None = None) -> dict[str, Any]:
    """The JSON Schema of one event type's envelope, or (no ``type``) of any subkit event.

    Example:
        >>> s = json_schema()
        >>> s["$schema"], len(s["oneOf"]) == len(CATALOG)
        ('https://json-schema.org/draft/2020-12/schema', True)
    """
    if type is not None:
        return {"$schema": _DRAFT, **_envelope_schema(_spec(type))}
    return {
        "$schema": _DRAFT,
        "title": "subkit event",
        "oneOf": [_envelope_schema(spec) for spec in CATALOG.values()],
    }


def _field_text(model: type[Payload]) -> str:
    parts = []
    for name, info in model.model_fields.items():
        hint = info.annotation
        shown = hint.__name__ if isinstance(hint, type) else str(hint).replace(" | NoneType", " or null")
        parts.append(f"`{name}`{'' if info.is_required() else '?'}: {shown}")
    return ", ".join(parts) or "none"


def catalog_markdown() -> str:
    """The catalog as a markdown table (docs/integrations.md holds it; a test keeps them equal).

    Example:
        >>> catalog_markdown().splitlines()[0]
        '| Type | Version | Subject | Fires when | `data` (`?`: may be absent) |'
    """
    rows = [
        "| Type | Version | Subject | Fires when | `data` (`?`: may be absent) |",
        "|---|---|---|---|---|",
    ]
    for spec in CATALOG.values():
        rows.append(
            f"| `{spec.type.value}` | {spec.version} | {spec.subject} | {spec.fires} "
            f"| {_field_text(spec.payload)} |"
        )
    return "\n".join(rows) + "\n"
