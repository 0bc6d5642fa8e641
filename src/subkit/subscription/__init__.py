"""The subscription value and its whole state machine, changes and proration.

Pure functions over values: each command takes a subscription (and a billing context) and
returns the new subscription, the invoice lines it produced and the events.
"""

__all__: list[str] = []
