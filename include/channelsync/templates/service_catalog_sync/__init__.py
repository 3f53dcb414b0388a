"""service_catalog_sync: a CSP distributor's price list (Crayon / PRISM, Pax8) → PSA services (Autotask Services,
ConnectWise catalog items), one ``PC_`` + SKU service per product."""
