"""price_availability: live TD SYNNEX P&A → cost, price and stock of PSA products in use."""
