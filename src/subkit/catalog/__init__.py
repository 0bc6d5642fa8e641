"""What is sold and at what price: products, plans, add-ons and pricing models.

``catalog`` holds ``Product``, ``Plan`` and ``Catalog`` (with JSON in and out); ``pricing`` the
pricing models (flat, per unit, graduated, volume, package, stairstep, percentage).
"""

__all__: list[str] = []
