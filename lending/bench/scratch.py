"""A throwaway database for a benchmark, on the configured server, created and dropped around the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


@contextmanager
def scratch_database() -> Iterator[str]:
    """Create `bench_<name>` (or var/bench-<pid>.sqlite3), migrate it, use it, drop it; never touch real data.

    The SQLite file is per process, so a benchmark and a test run on one machine never share one.
    """
    original_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        name = str(settings.VAR_DIR / f"bench-{os.getpid()}.sqlite3")
    else:
        name = f"bench_{original_name}"
    test_settings = connection.settings_dict.setdefault("TEST", {})
    test_name = test_settings.get("NAME")
    test_settings["NAME"] = name
    try:
        created = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield created
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
    finally:
        test_settings["NAME"] = test_name  # a test run's own test database keeps its name
