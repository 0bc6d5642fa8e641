"""What people run: the ``subkit`` command line and ``subkit demo``."""

__all__: list[str] = []
