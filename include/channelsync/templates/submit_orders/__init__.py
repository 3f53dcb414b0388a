"""submit_orders: PSA purchase orders → TD SYNNEX XML PO submission, exactly once."""
