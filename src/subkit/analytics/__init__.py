"""Subscription analytics: MRR, movements, churn, retention, cohorts (filled by its issue)."""

__all__: list[str] = []
