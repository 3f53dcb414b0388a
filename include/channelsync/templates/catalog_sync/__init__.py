"""catalog_sync: the TD SYNNEX catalog → PSA products."""
