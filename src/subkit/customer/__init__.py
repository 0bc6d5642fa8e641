"""Who is billed: the ``Customer`` value, its address, tax ids and collection method."""

__all__: list[str] = []
