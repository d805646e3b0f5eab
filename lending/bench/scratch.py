"""A throwaway database for a benchmark, on the configured server, created and dropped around the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create `bench_<name>` (or var/bench.sqlite3), migrate it, use it, drop it; never touch real data."""
    original_name = connection.settings_dict["NAME"]
    name = str(settings.VAR_DIR / "bench.sqlite3") if connection.vendor == "sqlite" else f"bench_{original_name}"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    created = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield created
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)
