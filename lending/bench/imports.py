"""Import benchmark: a Kiva API snapshot through `lending.imports.kiva_snapshot.import_snapshot`, timed.

The importer replays each loan through the services (application, shares, disbursement, every
payment), so its rate is loans and payments per second of a real import, close of business included.
The input is a Kiva snapshot page repeated with new loan ids up to the size asked for, written to a
temporary file: `--kiva-snapshot PATH` (or BENCH_KIVA_SNAPSHOT), else the compact fixture committed
under tests/data/kiva/, else the team's shared copy. The row says "not available" when the importer
is not installed or no snapshot is found; it has no raw-SQL reference.
"""

from __future__ import annotations

import copy
import gzip
import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from lending.bench.common import Measurement, NotAvailable
from lending.loans.models import Loan, Repayment

IMPORTER = "lending.imports.kiva_snapshot"
# A full Kiva snapshot (about 1.6 million loans) imported within a day.
TARGET_PER_SECOND = 20
ID_STEP = 100_000_000  # copies of a page get ids far from Kiva's own


def _sources() -> list[Path]:
    given = os.environ.get("BENCH_KIVA_SNAPSHOT")
    found = [Path(given)] if given else []
    fixtures = Path(settings.BASE_DIR) / "tests" / "data" / "kiva"
    found += sorted(p for p in fixtures.glob("*.json*") if "snapshot" in p.name or "loans" in p.name)
    shared = Path(settings.BASE_DIR).parent / "shared" / "data" / "kiva" / "kiva_api_snapshot_2015-01-05"
    return [*found, shared / "loans_page1.json"]


def _read(path: Path) -> dict[str, Any]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    if not isinstance(data.get("loans"), list) or not data["loans"]:
        raise ValueError(f"{path} is not a Kiva snapshot page (no 'loans')")
    return data


def snapshot_of(size: int, folder: Path) -> Path:
    """A snapshot of `size` loans in `folder`: the source page's loans, repeated with new ids."""
    source = next((p for p in _sources() if p.is_file()), None)
    if source is None:
        raise NotAvailable("no Kiva snapshot to import: set BENCH_KIVA_SNAPSHOT=PATH")
    page = _read(source)
    loans: list[dict[str, Any]] = []
    while len(loans) < size:
        for record in page["loans"][: size - len(loans)]:
            twin = copy.deepcopy(record)
            twin["id"] = int(record["id"]) + ID_STEP * (len(loans) // len(page["loans"]))
            loans.append(twin)
    path = folder / "snapshot.json"
    path.write_text(json.dumps({"header": page.get("header", {}), "loans": loans}), encoding="utf-8")
    return path


def _importer() -> Callable[..., Any]:
    try:
        importer = importlib.import_module(IMPORTER)
    except ModuleNotFoundError as exc:
        raise NotAvailable(f"{IMPORTER} is not installed ({exc.name} missing)") from None
    import_snapshot = getattr(importer, "import_snapshot", None)
    if import_snapshot is None:
        raise NotAvailable(f"{IMPORTER} has no import_snapshot(paths, *, out=None)")
    return import_snapshot


def unavailable() -> str | None:
    """Why this benchmark cannot run here (checked before a scratch database is made), or None."""
    try:
        _importer()
    except NotAvailable as exc:
        return str(exc)
    if not any(p.is_file() for p in _sources()):
        return "no Kiva snapshot to import: set BENCH_KIVA_SNAPSHOT=PATH"
    return None


def measure(*, out: Callable[[str], None], loans: int) -> Measurement:
    import_snapshot = _importer()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        path = snapshot_of(loans, Path(folder))
        before = (Loan.objects.count(), Repayment.objects.count())
        started = time.perf_counter()
        import_snapshot([path], out=None)
        seconds = time.perf_counter() - started
    imported = Loan.objects.count() - before[0]
    payments = Repayment.objects.count() - before[1]
    out(f"  imported {imported} loans and {payments} payments in {seconds:.1f}s "
        f"({payments / seconds:.1f} payments/s), close of business included")  # fmt: skip
    return Measurement(
        operation="Kiva snapshot import through the services",
        size=f"{imported} of {loans} loans, {payments:,} payments",
        seconds=seconds,
        per="import",
        rate=imported / seconds,
        unit="loans",
        ratio=None,
        target=f">= {TARGET_PER_SECOND} loans/s",
        meets=imported / seconds >= TARGET_PER_SECOND,
        note="a full Kiva snapshot (~1.6 M loans) within a day",
    )
