"""Real implementations of the ports: storage (memory, SQL), and later rates and webhooks."""

__all__: list[str] = []
