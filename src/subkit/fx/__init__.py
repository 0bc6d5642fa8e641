"""Currency conversion with rates locked on the invoice (filled by the currency issue)."""

__all__: list[str] = []
