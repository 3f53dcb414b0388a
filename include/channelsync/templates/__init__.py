"""Integration templates: each is a set of run steps plus an options model, built into DAGs."""
