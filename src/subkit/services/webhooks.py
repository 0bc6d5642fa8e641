"""Webhook delivery: outbox events to the host's endpoints, signed, retried, never lost.

:class:`Webhooks` is an :class:`~subkit.ports.EventPublisher`: the outbox relay
(``engine.publisher = webhooks``, or :func:`~subkit.services.outbox.relay`) hands it
committed events, and it turns each (endpoint, event) pair into a :class:`Delivery`
document, written in one unit of work before the events are marked published. The
delivery's id is derived from the pair, so a relay that crashed before marking and runs
again creates no second delivery.

:meth:`Webhooks.deliver_due` then sends what is due. It first *leases* a batch (one commit:
each delivery's next attempt recorded "in progress", ``due_at`` moved a lease ahead), sends
each request signed at that instant (:mod:`subkit.integration.signing`), and records the
answer. A 2xx answer delivers; anything else, or no answer, is retried with exponential
backoff until ``max_attempts``, after which the delivery is ``failed`` (``redeliver`` puts
it back). A worker that dies mid-batch leaves its leased deliveries to come due again when
the lease expires: delivery is at least once, and receivers recognize the repeated event id.

Example:
    >>> from datetime import datetime, timedelta, UTC
    >>> from subkit.core.events import Event, EventType
    >>> from subkit.services.outbox import relay
    >>> from subkit.testing import InMemoryStore, TestClock
    >>> from subkit.testing.webhooks import MockTransport
    >>> store, clock = InMemoryStore(), TestClock(datetime(2027, 1, 1, tzinfo=UTC))
    >>> answers = iter([503, 200])
    >>> hooks = Webhooks(store, clock, [Endpoint("crm", "https://crm.test/hooks", ("whsec_1",))],
    ...                  MockTransport(lambda request: next(answers)))
    >>> with store.begin() as uow:
    ...     uow.publish(Event.of(EventType.CUSTOMER_CREATED, clock.now(), "cus_1", customer_id="cus_1"))
    >>> relay(store, hooks)
    1
    >>> hooks.deliver_due()
    DeliveryReport(sent=1, delivered=0, retrying=1, failed=0)
    >>> _ = clock.advance(timedelta(seconds=30))     # the first retry waits 30 s
    >>> hooks.deliver_due()
    DeliveryReport(sent=1, delivered=1, retrying=0, failed=0)
    >>> [(a.status_code, a.error) for a in hooks.deliveries(customer_id="cus_1")[0].attempts]
    [(503, 'HTTP 503'), (200, '')]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import blake2b
from typing import ClassVar

from pydantic import AwareDatetime

from subkit.core.events import Event, EventType
from subkit.core.model import Entity, Model
from subkit.errors import ConflictError, NotFoundError, ValidationError
from subkit.integration.catalog import envelope_json
from subkit.integration.signing import SIGNATURE_HEADER, sign
from subkit.ports import Clock, Store, WebhookTransport

__all__ = ["Backoff", "Delivery", "DeliveryAttempt", "DeliveryReport", "Endpoint", "Webhooks", "delivery_id"]

log = logging.getLogger(__name__)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
IN_PROGRESS = "in progress"
ABANDONED = "no answer recorded: the worker stopped mid-delivery"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send events: ``secrets`` sign each request (all of them while one is rotated).

    ``types`` limits the events sent (``None``: all of them).

    Example:
        >>> e = Endpoint("crm", "https://crm.test/hooks", ("whsec_new", "whsec_old"),
        ...              types=frozenset({EventType.INVOICE_PAID}))
        >>> e.wants(EventType.INVOICE_PAID), e.wants(EventType.CUSTOMER_CREATED)
        (True, False)
    """

    id: str
    url: str
    secrets: tuple[str, ...]
    types: frozenset[EventType] | None = None

    def __post_init__(self) -> None:
        if not self.id or not self.url.startswith(("https://", "http://")):
            raise ValidationError("an endpoint needs an id and an http(s) URL", field="url")
        if not self.secrets or not all(self.secrets):
            raise ValidationError("an endpoint needs at least one non-empty secret", field="secrets")

    def wants(self, type: EventType) -> bool:
        """Whether events of ``type`` go to this endpoint."""
        return self.types is None or type in self.types


@dataclass(frozen=True, slots=True)
class Backoff:
    """The retry policy: ``first`` after the first failure, times ``factor`` each time, at most ``cap``.

    ``lease`` is how long a worker holds a delivery it is sending before another may retry it.

    Example:
        >>> b = Backoff()
        >>> [int(b.delay(n).total_seconds()) for n in (1, 2, 3, 12)]
        [30, 60, 120, 21600]
    """

    first: timedelta = timedelta(seconds=30)
    factor: int = 2
    cap: timedelta = timedelta(hours=6)
    max_attempts: int = 12
    lease: timedelta = timedelta(minutes=2)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        wait = min(self.first, self.cap)
        for _ in range(max(attempts - 1, 0)):  # multiplied step by step: a huge power never forms
            if wait >= self.cap or self.factor == 1:
                break
            wait = min(wait * self.factor, self.cap)
        return wait

    def __post_init__(self) -> None:
        if self.first <= timedelta(0) or self.cap < self.first or self.lease <= timedelta(0):
            raise ValidationError("backoff needs 0 < first <= cap and a positive lease", field="first")
        if self.factor < 1 or self.max_attempts < 1:
            raise ValidationError("backoff needs factor >= 1 and max_attempts >= 1", field="factor")


class DeliveryAttempt(Model):
    """One try: when, the status code (``None``: no answer) and what went wrong.

    Example:
        >>> from datetime import datetime, UTC
        >>> DeliveryAttempt(at=datetime(2027, 1, 1, tzinfo=UTC), status_code=200).error
        ''
    """

    at: AwareDatetime
    status_code: int | None = None
    error: str = ""


class Delivery(Entity):
    """One event to one endpoint: the exact body, its state, and every attempt.

    ``status`` is ``pending`` (``due_at`` says when to try), ``delivered`` or ``failed``.

    Example:
        >>> from datetime import datetime, UTC
        >>> at = datetime(2027, 1, 1, tzinfo=UTC)
        >>> Delivery(id="whd_1", endpoint_id="crm", event_id="evt_1", event_type="invoice.paid",
        ...          body="{}", created_at=at, due_at=at).status
        'pending'
    """

    kind: ClassVar[str] = "webhook_delivery"
    endpoint_id: str
    event_id: str
    event_type: str
    customer_id: str | None = None
    body: str
    status: str = PENDING
    created_at: AwareDatetime
    due_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    attempts: tuple[DeliveryAttempt, ...] = ()
    #: Attempts made before the last :meth:`Webhooks.redeliver` (not counted against ``max_attempts``).
    retry_base: int = 0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one :meth:`Webhooks.deliver_due` call did.

    Example:
        >>> DeliveryReport(sent=2, delivered=1, retrying=1, failed=0).sent
        2
    """

    sent: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def delivery_id(endpoint_id: str, event_id: str) -> str:
    """The delivery of an event to an endpoint: one id per pair, so a relay run twice adds nothing.

    Example:
        >>> delivery_id("crm", "evt_1") == delivery_id("crm", "evt_1") != delivery_id("erp", "evt_1")
        True
    """
    return "whd_" + blake2b(f"{endpoint_id}|{event_id}".encode(), digest_size=12).hexdigest()


class Webhooks:
    """Signed, retried delivery of outbox events to ``endpoints`` through ``transport``.

    Use it as the engine's publisher (``engine.publisher = webhooks``) or relay to it
    yourself; call :meth:`deliver_due` from a worker (every few seconds), or :meth:`run`.

    Example:
        >>> from datetime import datetime, UTC
        >>> from subkit.testing import InMemoryStore, TestClock
        >>> from subkit.testing.webhooks import MockTransport
        >>> clock = TestClock(datetime(2027, 1, 1, tzinfo=UTC))
        >>> hooks = Webhooks(InMemoryStore(), clock, [], MockTransport())
        >>> hooks.run()
        DeliveryReport(sent=0, delivered=0, retrying=0, failed=0)
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        endpoints: Iterable[Endpoint],
        transport: WebhookTransport,
        *,
        backoff: Backoff | None = None,
        timeout: float = 10.0,  # float ok: seconds
    ) -> None:
        self.store = store
        self.clock = clock
        self.endpoints = {e.id: e for e in endpoints}
        self.transport = transport
        self.backoff = backoff or Backoff()
        self.timeout = timeout

    # ------------------------------------------------------------------ from the outbox
    def publish(self, events: Sequence[Event]) -> None:
        """Record a delivery per (matching endpoint, event), once, in one unit of work."""
        now = self.clock.now()
        wanted = [
            (endpoint, event)
            for event in events
            for endpoint in self.endpoints.values()
            if endpoint.wants(event.type)
        ]
        if not wanted:
            return
        with self.store.begin() as uow:
            ids = [delivery_id(endpoint.id, event.id) for endpoint, event in wanted]
            existing = uow.get_many(Delivery, ids)
            bodies: dict[str, str] = {}
            # Stores return due rows by (due_at, id): a microsecond apart, they keep the outbox's order.
            for n, (did, (endpoint, event)) in enumerate(zip(ids, wanted, strict=True)):
                if did in existing:
                    continue
                body = bodies.get(event.id)
                if body is None:
                    body = bodies[event.id] = envelope_json(event).decode()
                existing[did] = d = Delivery(
                    id=did,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type.value,
                    customer_id=event.customer_id,
                    body=body,
                    created_at=now,
                    due_at=now - timedelta(microseconds=len(wanted) - n),
                )
                uow.add(d)

    # ------------------------------------------------------------------ sending
    def run(self, limit: int = 100) -> DeliveryReport:
        """Relay the outbox to this publisher, then deliver what is due (one pass)."""
        from subkit.services.outbox import relay

        relay(self.store, self)
        return self.deliver_due(limit)

    def deliver_due(self, limit: int = 100) -> DeliveryReport:
        """Send up to ``limit`` due deliveries; record each answer (see the module docstring)."""
        now = self.clock.now()
        leased = self._lease(now, limit)
        delivered = retrying = failed = 0
        for d in leased:
            outcome = self._send(d, now)
            if outcome == DELIVERED:
                delivered += 1
            elif outcome == FAILED:
                failed += 1
            elif outcome == PENDING:
                retrying += 1
        return DeliveryReport(sent=len(leased), delivered=delivered, retrying=retrying, failed=failed)

    def _lease(self, now: datetime, limit: int) -> list[Delivery]:
        try:
            with self.store.begin() as uow:
                leased = []
                for d in uow.due(Delivery, now, limit):
                    if d.status != PENDING:
                        continue
                    attempts = d.attempts
                    if attempts and attempts[-1].error == IN_PROGRESS:  # a worker died holding it
                        attempts = (*attempts[:-1], attempts[-1].model_copy(update={"error": ABANDONED}))
                    mine = d.bumped(
                        due_at=now + self.backoff.lease,
                        attempts=(*attempts, DeliveryAttempt(at=now, error=IN_PROGRESS)),
                    )
                    uow.update(mine)
                    leased.append(mine)
        except ConflictError:
            return []  # another worker leased them first
        return leased

    def _send(self, d: Delivery, now: datetime) -> str:
        endpoint = self.endpoints.get(d.endpoint_id)
        status: int | None = None
        if endpoint is None:
            error = f"endpoint {d.endpoint_id!r} is not configured any more"
        else:
            body = d.body.encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "subkit-webhooks",
                SIGNATURE_HEADER: sign(body, endpoint.secrets, at=now),
                "Subkit-Event-Id": d.event_id,
                "Subkit-Event-Type": d.event_type,
            }
            try:
                status = int(self.transport.send(endpoint.url, body, headers, self.timeout))
                error = "" if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:  # any transport failure is retried
                error = f"{type(exc).__name__}: {exc}"[:300]
        attempt = DeliveryAttempt(at=now, status_code=status, error=error)
        attempts = (*d.attempts[:-1], attempt)
        if not error:
            new = d.bumped(status=DELIVERED, due_at=None, delivered_at=now, attempts=attempts)
        elif endpoint is None or len(attempts) - d.retry_base >= self.backoff.max_attempts:
            new = d.bumped(status=FAILED, due_at=None, attempts=attempts)
        else:
            new = d.bumped(due_at=now + self.backoff.delay(len(attempts) - d.retry_base), attempts=attempts)
        try:
            with self.store.begin() as uow:
                uow.update(new)
        except ConflictError:
            return ""  # the lease ran out and another worker took it over: its record wins
        # ids, codes and URLs only: no payload, nothing personal
        if new.status == FAILED:
            log.error("webhook %s (%s) to %s failed for good: %s", d.id, d.event_type, d.endpoint_id, error)
        elif error:
            log.warning(
                "webhook %s (%s) to %s: %s; retry at %s", d.id, d.event_type, d.endpoint_id, error, new.due_at
            )
        else:
            log.debug("webhook %s (%s) delivered to %s", d.id, d.event_type, d.endpoint_id)
        return new.status

    # ------------------------------------------------------------------ operating
    def redeliver(self, delivery_id: str) -> Delivery:
        """Put a delivery (a failed one, say, after fixing the endpoint) back in the queue, due now.

        Its attempts so far are kept; it gets ``max_attempts`` more.
        """
        now = self.clock.now()
        with self.store.begin() as uow:
            d = uow.get(Delivery, delivery_id)
            new = d.bumped(status=PENDING, due_at=now, retry_base=len(d.attempts))
            uow.update(new)
        return new

    def deliveries(self, *, customer_id: str | None = None, status: str | None = None) -> list[Delivery]:
        """Deliveries of a customer's events and/or in a ``status``, oldest first."""
        where: dict[str, object] = {}
        if customer_id is not None:
            where["customer_id"] = customer_id
        if status is not None:
            where["status"] = status
        if not where:
            raise ValidationError("give customer_id and/or status", field="customer_id")
        with self.store.begin() as uow:
            return uow.find(Delivery, **where)

    def get(self, delivery_id: str) -> Delivery:
        """A delivery by id (``NotFoundError`` if none)."""
        with self.store.begin() as uow:
            found = uow.get_many(Delivery, [delivery_id]).get(delivery_id)
        if found is None:
            raise NotFoundError(f"no webhook delivery {delivery_id!r}", field="delivery_id")
        return found
