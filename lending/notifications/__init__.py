"""Lender notifications: a daily digest of repayments received, loans funded and loans running late."""
