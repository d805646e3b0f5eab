"""`manage.py bench` with no target: every benchmark of the project at one scale, printed as one table.

The registry below is the whole list. A benchmark is one module of `lending.bench` with a
`measure(*, out, **size) -> Measurement | list[Measurement]` function, and one entry here naming it,
whether it needs PostgreSQL, and its size at each scale. Each runs on its own scratch database
(created, migrated, dropped), with DEBUG off and outgoing email discarded. A module whose subject may
be missing (another app, an input file) also has `unavailable() -> str | None`, asked first; it, or
`measure` raising `NotAvailable`, makes the row say why, and the rest run on. A benchmark that fails
is shown as an error and makes the command fail, after the table.
"""

from __future__ import annotations

import importlib
import os
import platform
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db import connection
from django.test.utils import override_settings

from lending.bench.common import Measurement, NotAvailable, commit_ms, peak_rss_mib
from lending.bench.scratch import scratch_database

SCALES = ("tiny", "small", "medium", "full")  # tiny: the tests' plumbing run, figures meaningless


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    postgres_only: bool
    sizes: Mapping[str, Mapping[str, int]]  # scale -> keyword arguments of measure()


BENCHMARKS = (
    Benchmark("ledger", "lending.bench.ledger", False, {
        "tiny": {"journals": 10, "rounds": 1, "lenders": 40}, "small": {"journals": 100, "rounds": 3, "lenders": 40},
        "medium": {"journals": 300, "rounds": 3, "lenders": 40}, "full": {"journals": 500, "rounds": 5, "lenders": 40},
    }),
    Benchmark("repayments", "lending.bench.repayments", False, {
        "tiny": {"repayments": 10, "rounds": 1, "lenders": 40},
        "small": {"repayments": 50, "rounds": 3, "lenders": 40},
        "medium": {"repayments": 200, "rounds": 3, "lenders": 40},
        "full": {"repayments": 500, "rounds": 5, "lenders": 40},
    }),
    Benchmark("close", "lending.bench.scale", True, {
        "tiny": {"loans": 200, "lenders": 5, "rounds": 1}, "small": {"loans": 5_000, "lenders": 10, "rounds": 1},
        "medium": {"loans": 20_000, "lenders": 30, "rounds": 3}, "full": {"loans": 100_000, "lenders": 30, "rounds": 3},
    }),
    Benchmark("funding", "lending.bench.funding", True, {
        "tiny": {"threads": 2, "loans": 2, "shares": 5, "rounds": 1},
        "small": {"threads": 4, "loans": 10, "shares": 20, "rounds": 1},
        "medium": {"threads": 8, "loans": 20, "shares": 40, "rounds": 3},
        "full": {"threads": 8, "loans": 50, "shares": 40, "rounds": 3},
    }),
    Benchmark("dashboard", "lending.bench.dashboard", True, {
        "tiny": {"loans": 20, "rounds": 1}, "small": {"loans": 300, "rounds": 3},
        "medium": {"loans": 2_000, "rounds": 3}, "full": {"loans": 2_000, "rounds": 5},
    }),
    Benchmark("api", "lending.bench.api", False, {
        "tiny": {"lenders": 20, "partners": 1, "fundraising": 3, "paying": 1, "requests": 5, "rounds": 1},
        "small": {"lenders": 20, "partners": 2, "fundraising": 40, "paying": 4, "requests": 100, "rounds": 3},
        "medium": {"lenders": 100, "partners": 5, "fundraising": 150, "paying": 25, "requests": 200, "rounds": 3},
        "full": {"lenders": 200, "partners": 5, "fundraising": 300, "paying": 50, "requests": 300, "rounds": 5},
    }),
    Benchmark("import", "lending.bench.imports", False, {
        "tiny": {"loans": 5}, "small": {"loans": 50}, "medium": {"loans": 200}, "full": {"loans": 500},
    }),
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    benchmark: str
    measurement: Measurement | None = None
    skipped: str = ""
    error: str = ""


def run_all(
    *, scale: str, only: list[str] | None, out: Callable[[str], None], err: Callable[[str], None]
) -> tuple[list[Row], str]:
    """Run every benchmark (or those named in `only`) at `scale`: one Row per figure, skip or failure,
    and the machine the figures come from."""
    if scale not in SCALES:
        raise ValueError(f"scale: one of {', '.join(SCALES)}")
    rows: list[Row] = []
    seen: list[str] = []
    for bench in BENCHMARKS:
        if only and bench.name not in only:
            continue
        if bench.postgres_only and connection.vendor != "postgresql":
            rows.append(Row(bench.name, skipped="needs PostgreSQL (set DATABASE_URL=postgres://...)"))
            continue
        out(f"== {bench.name} ({scale}): {', '.join(f'{k}={v}' for k, v in bench.sizes[scale].items())}")
        started = time.perf_counter()
        rows += _run_one(bench, scale, out, err, seen)
        out(f"   ({time.perf_counter() - started:.1f}s with seeding)")
    return rows, (seen[0] if seen else f"{os.cpu_count()} cores, Python {platform.python_version()}")


def _run_one(
    bench: Benchmark, scale: str, out: Callable[[str], None], err: Callable[[str], None], seen: list[str]
) -> list[Row]:
    module = importlib.import_module(bench.module)
    reason = module.unavailable() if hasattr(module, "unavailable") else None
    if reason:
        return [Row(bench.name, skipped=f"not available: {reason}")]
    try:
        # DEBUG would record every query; the close's digests must not print thousands of emails.
        quiet = override_settings(DEBUG=False, EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
        with quiet, scratch_database():
            if not seen:  # the first scratch database tells the machine; the commit probe runs once
                seen.append(machine())
            result = module.measure(out=out, **bench.sizes[scale])
    except NotAvailable as exc:
        return [Row(bench.name, skipped=f"not available: {exc}")]
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        err(traceback.format_exc())
        return [Row(bench.name, error=f"{type(exc).__name__}: {exc}"[:200])]
    return [Row(bench.name, measurement=m) for m in (result if isinstance(result, list) else [result])]


def _time(m: Measurement) -> str:
    if m.seconds < 1:
        return f"{m.seconds * 1000:.1f} ms / {m.per}"
    return f"{m.seconds:.1f} s / {m.per}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.2g}"  # a page 200 times slower than its SQL: 0.005


def format_table(rows: list[Row]) -> list[str]:
    """The table as Markdown lines: operation, size, time, rate, ratio to raw SQL, target, result."""
    header = ["benchmark", "operation", "size", "time", "rate", "vs raw SQL", "target", "result"]
    cells = []
    for row in rows:
        m = row.measurement
        if m is None:
            result = f"skipped: {row.skipped}" if row.skipped else f"ERROR: {row.error}"
            cells.append([row.benchmark, "", "", "", "", "", "", result])
            continue
        verdict = "-" if m.meets is None else ("meets" if m.meets else "**misses**")
        cells.append([
            row.benchmark, m.operation, m.size, _time(m), f"{m.rate:,.1f} {m.unit}/s",
            _ratio(m.ratio), m.target, verdict,
        ])  # fmt: skip
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(c) for c in cells)]


def machine() -> str:
    """The cores, the Python, the database and its durable-commit time: what the figures depend on most."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = str(cursor.fetchone()[0]).split(" on ")[0]
    name = version if connection.vendor == "postgresql" else f"SQLite {version}"
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {name} (a one-row commit: {commit_ms():.2f} ms)"
    )


def footer(rows: list[Row], seconds: float) -> list[str]:
    notes = list(
        dict.fromkeys(f"- {r.benchmark}: {r.measurement.note}" for r in rows if r.measurement and r.measurement.note)
    )
    return [
        "vs raw SQL: the product's speed over a raw-SQL reference doing the same work in the same run "
        "(1.00 = as fast; 0.50 = half as fast).",
        *notes,
        f"total {seconds:.0f}s; peak RSS of this process {peak_rss_mib():.0f} MiB; load average (1, 5, 15 min) "
        f"at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}",
    ]
