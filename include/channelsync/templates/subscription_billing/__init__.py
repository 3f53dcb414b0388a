"""subscription_billing: the monthly CSP invoice → PSA recurring contracts, prorated, exactly once."""
