"""Store adapters: in memory (tests, simulations) and SQL (SQLite, PostgreSQL)."""
