"""The life of a loan: application, fundraising, disbursement, repayments split to lenders, default."""
