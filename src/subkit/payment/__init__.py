"""Payment methods (tokens only, with the PCI guard), payment results and attempts, dunning policy."""

__all__: list[str] = []
