"""Run work in many threads released at the same instant, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections


def run_together(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in n threads released at the same instant; return results or exceptions."""
    barrier = threading.Barrier(n)

    def call(i: int) -> Any:
        try:
            barrier.wait()
            return work(i)
        except Exception as exc:  # the test inspects what each thread got
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))
