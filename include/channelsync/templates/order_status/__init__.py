"""order_status: TD SYNNEX PO status → PSA purchase orders (status, shipments, tracking)."""
