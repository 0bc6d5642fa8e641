"""Use cases: one small service per family, and the facades that keep the public API stable.

``BillingEngine`` and ``PaymentCollector`` are thin facades over these services. Services
read time from a clock and state from a unit of work; the domain packages below do the math.
"""

__all__: list[str] = []
