"""Metered usage: usage records rated into the period they belong to."""

__all__: list[str] = []
