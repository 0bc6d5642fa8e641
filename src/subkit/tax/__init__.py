"""Tax: rates, jurisdictions and the built-in tax engine (filled by the tax issue)."""

__all__: list[str] = []
