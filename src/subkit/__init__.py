"""subkit."""
