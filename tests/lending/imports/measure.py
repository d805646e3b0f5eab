"""Measure the snapshot import on a large synthetic file: throughput and peak memory (run by hand, not by pytest).

    DATABASE_URL=sqlite:////tmp/kiva.sqlite3 DEBUG=false .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:////tmp/kiva.sqlite3 DEBUG=false .venv/bin/python -m tests.lending.imports.measure --loans 20000

The file repeats the committed snapshot page's loans with new ids (written a loan at a time, so
making it costs no memory either) into a temporary folder. Peak RSS comes from
resource.getrusage; the current RSS is sampled at every progress line, so a flat memory shows as
the same figure from the first thousand loans to the last.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ID_STEP = 1_000_000  # each copy of the page gets ids this far apart from the last


def write_synthetic(source: Path, dest: Path, count: int) -> Path:
    """`count` loans: the source page's loans again and again, each copy with new ids; streamed to gzip."""
    with gzip.open(source, "rt", encoding="utf-8") as f:
        page = json.load(f)
    loans = page["loans"]
    with gzip.open(dest, "wt", encoding="utf-8") as out:
        out.write('{"header": ' + json.dumps(page["header"]) + ', "loans": [')
        for n in range(count):
            loan = dict(loans[n % len(loans)], id=loans[n % len(loans)]["id"] + ID_STEP * (1 + n // len(loans)))
            out.write(("," if n else "") + json.dumps(loan))
        out.write("]}")
    return dest


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Sampler:
    """The import's progress writer: passes lines on to stderr with the memory at that moment."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, float]] = []

    def write(self, text: str) -> Any:
        if text.startswith("kiva snapshot:"):
            self.samples.append((text.split(",")[0], rss_mib()))
            text = text.rstrip("\n") + f"; RSS {rss_mib():.1f} MiB, peak {peak_mib():.1f} MiB\n"
        return sys.stderr.write(text)

    def flush(self) -> Any:
        return sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[2] / "data" / "kiva"
                        / "kiva_api_snapshot_2015-01-05_loans.json.gz")  # fmt: skip
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import connection

    from lending.imports.kiva_snapshot import import_snapshot

    with tempfile.TemporaryDirectory(prefix="kiva-measure-") as folder:
        path = write_synthetic(options.source, Path(folder) / "synthetic.json.gz", options.loans)
        size = path.stat().st_size
        before = (rss_mib(), peak_mib())
        sampler = Sampler()
        started = time.perf_counter()
        summary = import_snapshot([path], out=sys.stdout, err=sampler, progress_every=options.every)
        seconds = time.perf_counter() - started
    print(
        f"database {connection.vendor}; file {options.loans:,} loans, {size / 2**10:,.0f} KiB gzipped; "
        f"import {summary.seconds:.0f} s ({summary.loans_per_second:.1f} loans/s, "
        f"{summary.payments_per_second:.1f} payments/s), with close and comparison {seconds:.0f} s; "
        f"RSS before {before[0]:.1f} MiB (peak {before[1]:.1f}), after {rss_mib():.1f} MiB, peak {peak_mib():.1f} MiB; "
        f"RSS at progress lines: {', '.join(f'{mib:.0f}' for _, mib in sampler.samples)} MiB"
    )


if __name__ == "__main__":
    main()
