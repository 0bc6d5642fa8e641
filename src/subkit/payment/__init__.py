"""Payments as values: the PCI guard, payment methods, gateway results, attempts and refunds, dunning policy.

``pci`` (the card-data guard), ``methods`` (payment methods and their details), ``results``
(what a gateway answers, decline codes), ``attempts`` (payment attempts and refunds),
``dunning`` (the retry policy). Pure: no I/O, no clock; the services in
:mod:`subkit.services` store and charge them.
"""

__all__: list[str] = []
