"""Imports of real Kiva data (API snapshots, Kaggle's kiva_loans.csv) through the loan services."""
