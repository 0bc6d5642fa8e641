"""Integration with the host's other systems: the event catalog and webhook signatures.

Pure code (no I/O, no clock): :mod:`~subkit.integration.catalog` describes every event
subkit emits with a versioned payload schema (exported as JSON Schema), and
:mod:`~subkit.integration.signing` signs and verifies webhook requests. Delivery (the relay
with retries) is a service: :mod:`subkit.services.webhooks`.
"""

__all__: list[str] = []
