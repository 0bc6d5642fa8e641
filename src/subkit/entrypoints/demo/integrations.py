"""The demo's integration step: a portal action, its signed webhooks delivered, its audit trail read.

After the simulated year, one customer opens the self-service portal, schedules a
cancellation with a reason, and changes their mind (so no figure of the year changes). The
step runs on the demo's own store, wrapped in an :class:`~subkit.services.audit.AuditedStore`:
the two changes are recorded with who (the customer) and why, delivered as signed webhooks to
an in-process receiver that verifies each signature, and read back from the audit trail.

Example:
    >>> import pathlib, tempfile
    >>> from subkit.entrypoints.demo import run_demo
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     lines = run_demo(pathlib.Path(tmp) / "d.sqlite", customers=6, months=2, seed=1).integrations
    >>> lines[1].strip()
    'Webhooks: 2 delivered to https://crm.example/subkit, 2 signatures verified by the receiver'
"""

from __future__ import annotations

from subkit.core.clock import TestClock
from subkit.core.events import Event, EventType
from subkit.integration.signing import SIGNATURE_HEADER, WebhookReceiver
from subkit.ports import Store
from subkit.services.audit import AuditedStore, AuditTrail
from subkit.services.engine import BillingEngine
from subkit.services.portal import CustomerPortal
from subkit.services.webhooks import Endpoint, Webhooks
from subkit.subscription.model import Subscription
from subkit.testing.webhooks import MockTransport, WebhookRequest

__all__ = ["integration_step"]

URL = "https://crm.example/subkit"
SECRET = "whsec_demo_2026"
REASON = "trying another tool"


def integration_step(store: Store, clock: TestClock) -> tuple[str, ...]:
    """Run the step on the demo's store; the lines the summary prints (empty if nobody qualifies)."""
    audited = AuditedStore(store, clock)
    with audited.begin() as uow:
        live = [s for s in uow.find(Subscription, status="active") if not s.cancel_at_period_end]
    if not live:
        return ()
    sub = min(live, key=lambda s: s.id)
    portal = CustomerPortal(BillingEngine(audited, clock), sub.customer_id)
    portal.cancel(sub.id, reason=REASON)
    portal.resume(sub.id)

    trail = AuditTrail(audited).for_object(sub.id)[-2:]
    events = [
        Event.of(EventType(e.action), e.at, e.subject_id, customer_id=e.customer_id, **e.data) for e in trail
    ]
    assert [e.id for e in events] == [e.event_id for e in trail]  # ids are deterministic
    receiver = WebhookReceiver(SECRET)
    verified: list[str] = []

    def crm(request: WebhookRequest) -> int:
        got = receiver.receive(request.body, request.headers[SIGNATURE_HEADER], at=clock.now())
        verified.append(request.headers[SIGNATURE_HEADER])
        return 200 if not got.duplicate else 208

    hooks = Webhooks(store, clock, [Endpoint("crm", URL, (SECRET,))], MockTransport(crm))
    hooks.publish(events)
    report = hooks.deliver_due()
    lines = [
        f"  Customer {sub.customer_id} scheduled the cancellation of {sub.id} in the portal "
        f'("{REASON}"), then kept it',
        f"  Webhooks: {report.delivered} delivered to {URL}, "
        f"{len(verified)} signatures verified by the receiver",
    ]
    for event, header in zip(events, verified, strict=True):
        lines.append(f"    {event.type.value:<31} {event.id}  {header[:40]}...")
    lines.append(f"  Audit trail of {sub.id} (AuditTrail.for_object):")
    for e in trail:
        why = f'  "{e.reason}"' if e.reason else ""
        lines.append(f"    {e.at:%Y-%m-%d %H:%M}  {e.action:<31} by {e.actor.label}{why}")
    return tuple(lines)
