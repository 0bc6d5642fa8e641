"""Invoices, invoice lines, credit notes, one-off items, and discounts (coupons, promotion codes)."""

__all__: list[str] = []
