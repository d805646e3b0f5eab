"""API benchmark, in process: requests per second through Django's test Client, next to the page's own SQL.

The data is what `make bench-api` drives (`lending.bench.api_seed`, built through the services):
lenders with API keys, field partners, loans fundraising and paying back. Each request goes through
the whole stack (middleware, authentication by key, throttling with its cache, the view, DRF's
serializers, JSON rendering), with DEBUG off and rate limits raised out of the way, one at a time.

The reference is the page's own SQL: the statements one request ran, captured once and replayed on
the raw connection with nothing around them. The ratio is therefore what the Python around the
queries costs; a page can only get faster than its reference by running fewer or cheaper queries.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from lending.bench.api_seed import Sizes, build
from lending.bench.common import Measurement

TARGET_PER_SECOND = 50  # 50 requests/s on one core leaves the other to PostgreSQL (README: 20 ms of CPU each)
_NOT_REPLAYED = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def _page(client: Client, path: str, headers: dict[str, str]) -> Callable[[], None]:
    def get() -> None:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.content[:200]!r}")

    return get


def _replay(statements: list[str]) -> Callable[[], None]:
    def replay() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)  # captured with its values inlined: no parameters left to bind
                if cursor.description:
                    cursor.fetchall()

    return replay


def _per_second(work: Callable[[], None], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return count / (time.perf_counter() - started)


def _compare(
    name: str, page: Callable[[], None], requests: int, rounds: int, out: Callable[[str], None]
) -> dict[str, Any]:
    for _ in range(5):
        page()  # warm: templates, serializers, connection, cache
    with CaptureQueriesContext(connection) as captured:
        page()
    statements = [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(_NOT_REPLAYED)]
    replay = _replay(statements)
    replay()
    rates: dict[str, list[float]] = {"page": [], "raw": []}
    for n in range(1, rounds + 1):
        order = [("page", page), ("raw", replay)]
        for method, work in order if n % 2 else reversed(order):
            rates[method].append(_per_second(work, requests))
            out(f"  round {n} {name} {method:<4} {rates[method][-1]:8.1f}/s")
    page_rate, raw_rate = statistics.median(rates["page"]), statistics.median(rates["raw"])
    return {"rate": page_rate, "raw": raw_rate, "queries": len(statements)}


def measure(*, out: Callable[[str], None], lenders: int, partners: int, fundraising: int, paying: int,
            requests: int, rounds: int) -> list[Measurement]:  # fmt: skip
    out("  seeding through the services (lending.bench.api_seed)...")
    seeded = build(Sizes(lenders=lenders, partners=partners, fundraising=fundraising, paying=paying), out)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "caller": "1000000/second",
             "anonymous": "1000000/second"}  # fmt: skip
    client = Client()
    pages = [
        ("GET /api/v1/loans/", "/api/v1/loans/", {}, "anonymous, first page of loans fundraising"),
        ("GET /api/v1/portfolio/", "/api/v1/portfolio/", {"Authorization": f"Bearer {seeded['lenders'][0]}"},
         "a lender's portfolio, by API key"),
    ]  # fmt: skip
    rows = []
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}):
        for name, path, headers, what in pages:
            figures = _compare(name, _page(client, path, headers), requests, rounds, out)
            queries = f"{figures['queries']} quer{'y' if figures['queries'] == 1 else 'ies'}"
            rows.append(
                Measurement(
                    operation=f"API {name} ({what})",
                    size=f"{fundraising + paying} loans, {queries}",
                    seconds=1 / figures["rate"],
                    per="request",
                    rate=figures["rate"],
                    unit="requests",
                    ratio=figures["rate"] / figures["raw"],
                    target=f">= {TARGET_PER_SECOND}/s in one process",
                    meets=figures["rate"] >= TARGET_PER_SECOND,
                    note="reference: the request's own SQL replayed",
                )
            )
    return rows
