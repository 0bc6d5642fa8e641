"""Revenue recognition (ASC 606 / IFRS 15): schedules, journals, reports (filled by its issue)."""

__all__: list[str] = []
