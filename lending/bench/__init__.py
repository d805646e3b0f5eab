"""Benchmarks: the product's code next to a raw-SQL reference doing the same writes, in one run."""
