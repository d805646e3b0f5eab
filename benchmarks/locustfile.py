# ruff: noqa: S311 - random picks a load mix, not secrets
"""API load benchmark: lenders browse, search and lend; field partners post repayment batches. Run by
benchmarks/api_load.sh, which seeds the database (`manage.py api_bench_seed`) and starts gunicorn.

Each simulated client sends a steady `BENCH_RATE` requests per second (locust's constant_throughput):
with the runner's 50 clients and rate 1, about 50 requests/s. Clients take the API keys in turn
(`BENCH_LENDER_KEYS` lender keys, every partner key), so with as many clients as keys each has its own,
and with 4 times as many clients each key carries 4 times the rate (the overload phase), against a
per-key rate limit as in life. The mix per lender: 60% loan reads (lists with
filters and sorts, details), 10% lend $25, 30% wallet and portfolio reads. Per partner: 60% repayment
batches of 5 rows of $1, 40% reads of their loans. Unsafe requests carry a fresh Idempotency-Key.

Every answer's time goes into one of two pools, reads or writes; at the end the percentiles of each,
the failures by status code and the rate are written, as JSON, to `BENCH_SUMMARY` for the runner.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment

FIXTURE: dict[str, Any] = json.loads(open(os.environ["BENCH_FIXTURE"]).read())  # noqa: SIM115
RATE = float(os.environ.get("BENCH_RATE", "1"))  # requests per second per client
PARTNER_CLIENTS = int(os.environ.get("BENCH_PARTNER_CLIENTS", "5"))
LENDER_KEYS: list[str] = FIXTURE["lenders"][: int(os.environ.get("BENCH_LENDER_KEYS", "0")) or None]
SORTS = ["newest", "expiring", "amount_left", "popularity"]
API = "/api/v1"

timings: dict[str, list[float]] = {"read": [], "write": []}
statuses: Counter[str] = Counter()
started = [0.0]


def _next(pool: list[Any], counter: list[int]) -> Any:
    """Hand out keys in turn, so that no two clients share one (while there are enough)."""
    counter[0] += 1
    return pool[(counter[0] - 1) % len(pool)]


class _Client(FastHttpUser):
    abstract = True
    wait_time = constant_throughput(RATE)

    def _call(self, method: str, path: str, name: str, expect: int, **kwargs: Any) -> None:
        kind = "read" if method == "GET" else "write"
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        if kind == "write":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        with self.client.request(method, path, name=name, headers=headers, catch_response=True, **kwargs) as answer:
            statuses[str(answer.status_code)] += 1
            if answer.status_code == expect:
                timings[kind].append(answer.request_meta["response_time"])
                answer.success()
            else:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:200]}")

    key: str


class Lender(_Client):
    weight = 1
    _handed = [0]

    def on_start(self) -> None:
        self.key = _next(LENDER_KEYS, self._handed)

    @task(3)
    def search_loans(self) -> None:
        query = random.choice([
            f"sort={random.choice(SORTS)}",
            f"sector={random.choice(FIXTURE['sectors'])}&sort={random.choice(SORTS)}",
            f"country={random.choice(FIXTURE['countries'])}",
            "expiring_soon=true&page_size=10",
            f"amount_left_min=100000&sector={random.choice(FIXTURE['sectors'])}",
            "status=paying_back&status=fundraising&page_size=50",
        ])  # fmt: skip
        self._call("GET", f"{API}/loans/?{query}", "GET /loans/?filters", 200)

    @task(3)
    def loan_detail(self) -> None:
        loan = random.choice(FIXTURE["fundraising"])
        self._call("GET", f"{API}/loans/{loan}/", "GET /loans/{id}/", 200)

    @task(1)
    def lend(self) -> None:
        loan = random.choice(FIXTURE["fundraising"])
        self._call("POST", f"{API}/loans/{loan}/shares/", "POST /loans/{id}/shares/", 201, json={"amount_cents": 2500})

    @task(2)
    def portfolio(self) -> None:
        self._call("GET", f"{API}/portfolio/", "GET /portfolio/", 200)

    @task(1)
    def wallet(self) -> None:
        self._call("GET", f"{API}/wallet/", "GET /wallet/", 200)


class Partner(_Client):
    fixed_count = PARTNER_CLIENTS
    _handed = [0]

    def on_start(self) -> None:
        self.partner = _next(FIXTURE["partners"], self._handed)
        self.key = self.partner["key"]

    @task(3)
    def repayment_batch(self) -> None:
        today = datetime.now(UTC).date().isoformat()  # the server's day (TIME_ZONE is UTC by default)
        rows = [
            {"loan": loan, "amount_cents": 100, "currency": FIXTURE["currency"], "received_on": today,
             "reference": f"bench-{uuid.uuid4()}"}
            for loan in random.sample(self.partner["paying"], min(5, len(self.partner["paying"])))
        ]  # fmt: skip
        self._call("POST", f"{API}/repayment-batches/", "POST /repayment-batches/", 201, json={"rows": rows})

    @task(2)
    def my_loans(self) -> None:
        query = f"partner={self.partner['id']}&status=paying_back"
        self._call("GET", f"{API}/loans/?{query}", "GET /loans/?partner", 200)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    started[0] = time.monotonic()


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_: Any) -> None:
    """Count from when every client runs (the runner also passes --reset-stats for locust's own figures)."""
    timings["read"].clear()
    timings["write"].clear()
    statuses.clear()
    started[0] = time.monotonic()


@events.test_stop.add_listener
def _stop(environment: Environment, **_: Any) -> None:
    """The figures the runner prints: per pool percentiles of the successful answers, statuses, the rate."""
    path = os.environ.get("BENCH_SUMMARY")
    if not path:
        return
    elapsed = time.monotonic() - started[0]
    total = sum(statuses.values())
    summary = {
        "seconds": round(elapsed, 1),
        "requests": total,
        "per_second": round(total / elapsed, 1) if elapsed else 0.0,
        "statuses": dict(sorted(statuses.items())),
        **{kind: _percentiles(values) for kind, values in timings.items()},
    }
    with open(path, "w") as file:
        json.dump(summary, file, indent=1)


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}
