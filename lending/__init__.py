"""The lending product: money, the ledger, loans, payments, jobs, metrics and the faces on them."""
