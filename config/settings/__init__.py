"""Settings modules: base (shared, environment-driven), test and production."""
