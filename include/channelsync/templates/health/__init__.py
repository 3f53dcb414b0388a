"""health: every configured system (the PSA, each distributor connection) up and accepting calls."""
