"""The loan engine's tests use the loan fixtures, registered for every suite by tests/conftest.py (tests/loans.py)."""
