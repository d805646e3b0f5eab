"""People: users (email login), their roles, lender and borrower profiles, field partners and their staff."""
