"""Use cases: one small service per family, and the facades that keep the public API stable.

``BillingEngine`` (:mod:`.engine`) and ``PaymentCollector`` are thin facades over these
services. Services read time from a clock and state from a unit of work; the domain packages
below do the math. They share a :class:`~subkit.services.context.ServiceContext` and talk
through the :class:`~subkit.services.bus.EventBus` or a narrow method, never through each
other's state:

- :mod:`.context`: the shared context, and ``Work`` (one unit of work, what is read once in it)
- :mod:`.catalog_admin`: the catalog, coupons, promotion codes
- :mod:`.customers`: customers and their credit balance
- :mod:`.subscriptions`: the subscription lifecycle, coupons, previews
- :mod:`.invoicing`: writing outcomes; building, numbering and issuing invoices; voids
- :mod:`.credit_notes`: credit notes (idempotent given an id)
- :mod:`.metering`: usage records and a period's usage
- :mod:`.billing_run`: ``BillingRun``, one per ``advance()`` call
- :mod:`.outbox`: the relay of committed events to the publisher
- :mod:`.bus`: in-process dispatch of committed events
"""

__all__: list[str] = []
