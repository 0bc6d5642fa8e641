"""Metered usage: events as plain rows (``event``), their aggregations (``aggregate``), rating values
(``rating``) and the quarantine of refused events (``quarantine``)."""

__all__: list[str] = []
