"""Import Kaggle's kiva_loans.csv ("Data Science for Good: Kiva Crowdfunding"), a row at a time.

The file has the funding outcome only, no payments and no status: a row whose funded_amount is
its loan_amount was fully funded, the rest expired with what lenders had put in returned to them.

Fully funded loans end **funded, not paid out**, even when disbursed_time is set: the file has
no repayments, so a paid-out loan here would show every installment missed, and the next close
of business would call it late and, six months after its term, defaulted: a default rate the data
cannot support. The disbursal date is kept on the loan's import record instead.

Amounts that $25 shares cannot hold (Kiva's $5 lending: $35 of a $5,000 loan, or $125 from 12
lenders) get a $5 share size on that loan (plans.share_size), so every dollar in the file is
imported; a loan over the platform's largest (LOAN_MAX_CENTS) is reported and skipped.
Timestamps are read with or without Kaggle's "+00:00" (the sample's pandas dropped it: UTC).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Generator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from django.conf import settings

from lending.imports.cast import Cast, check_currency_lendable
from lending.imports.kiva_snapshot import DEFAULT_POOL, SOURCE
from lending.imports.plans import (
    LoanPlan,
    Malformed,
    cents,
    country,
    day,
    gender,
    lenders_for,
    listing_dates,
    loan_amount,
    sector,
    share_size,
    whole,
)
from lending.imports.runner import import_record
from lending.imports.summary import FileFigures, ImportSummary, Progress, Writer
from lending.loans.models import Loan

S = Loan.Status
COLUMNS = (
    "id", "funded_amount", "loan_amount", "activity", "sector", "country_code", "partner_id", "posted_time",
    "disbursed_time", "funded_time", "term_in_months", "lender_count", "borrower_genders", "repayment_interval",
)  # fmt: skip


class CsvFileError(Exception):
    """The file cannot be read as kiva_loans.csv (missing, or without the columns); the message is a sentence."""


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_rows(path: Path) -> Generator[dict[str, str], None, None]:
    """Each row as a dict, streamed; CsvFileError before the first row when the file or its columns are wrong."""
    try:
        with _open(path) as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise CsvFileError(f"{path}: not Kaggle's kiva_loans.csv: no column {', '.join(missing)}.")
            yield from reader
    except FileNotFoundError:
        raise CsvFileError(f"{path}: no such file.") from None
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise CsvFileError(f"{path}: cannot be read as CSV ({exc}).") from None


def check_file(path: Path) -> None:
    """Read the header only: CsvFileError now, before anything is written, if this is not the file we expect."""
    rows = read_rows(path)
    try:
        next(rows)
    except StopIteration:
        pass
    finally:
        rows.close()


def _partner(value: str) -> str | None:
    return str(whole(value, "partner_id", low=1)) if value.strip() else None


def plan_csv_row(
    row: dict[str, Any], *, zone: ZoneInfo, share_cents: int, window_days: int, max_cents: int
) -> LoanPlan:
    """The plan for one row: funded (fully funded) or expired (its shares returned), or Malformed."""
    external_id = str(whole(row.get("id"), "id", low=1))
    amount = loan_amount(row.get("loan_amount"), max_cents)
    funded = cents(row.get("funded_amount"), "funded_amount", allow_zero=True)
    if funded > amount:
        raise Malformed(f"funded_amount: {funded / 100:.2f} is more than the loan amount {amount / 100:.2f}")
    lender_count = whole(row.get("lender_count") or 0, "lender_count")
    size = share_size(
        amount_cents=amount, funded_cents=funded, lender_count=lender_count, platform_share_cents=share_cents
    )
    lenders, notes = lenders_for(funded_cents=funded, share_size_cents=size, lender_count=lender_count)
    posted = day(row.get("posted_time"), "posted_time", zone)
    funded_time = day(row.get("funded_time"), "funded_time", zone, required=False)
    disbursed = day(row.get("disbursed_time"), "disbursed_time", zone, required=False)
    fully = funded == amount
    if fully and funded_time is None:
        notes.append("fully funded without a funded_time: funded on the posting date")
    listed, days, funded_on, more = listing_dates(
        posted=posted, funded=(funded_time or posted) if fully else None, disbursed=None, window_days=window_days,
        expires=None,
    )  # fmt: skip
    genders = [g for g in str(row.get("borrower_genders") or "").split(",") if g.strip()]
    status = "funded" if fully else "expired"
    return LoanPlan(
        external_id=external_id,
        source_status=status,
        target=S.FUNDED if fully else S.EXPIRED,
        amount_cents=amount,
        funded_cents=funded,
        share_size_cents=size,
        lender_count=lenders,
        sector=sector(row.get("sector")),
        country=country(row.get("country_code")),
        partner_id=_partner(str(row.get("partner_id") or "")),
        borrower_count=max(len(genders), 1),
        borrower_gender=gender(genders),
        purpose=str(row.get("activity") or row.get("sector") or "Kiva loan")[:200],
        repayments=whole(row.get("term_in_months"), "term_in_months", low=1, high=600),
        bullet=str(row.get("repayment_interval") or "").strip().lower() == "bullet",
        posted_on=listed,
        fundraising_days=days,
        funded_on=funded_on,
        ended_on=None if fully else listed + timedelta(days=days + 1),
        notes=tuple(notes + more),
        details={
            "format": "csv",
            "status": status,
            "amount_cents": amount,
            "funded_cents": funded,
            "disbursed": disbursed.isoformat() if disbursed else None,
        },
    )


def _count(figures: FileFigures, row: dict[str, Any]) -> str:
    """Add the row to the file's own figures (every row whose amounts parse, imported or not); its outcome."""
    try:
        amount = cents(row.get("loan_amount"), "loan_amount")
        funded = cents(row.get("funded_amount"), "funded_amount", allow_zero=True)
    except Malformed:
        return "amounts unreadable"
    figures.rows += 1
    figures.loan_cents += amount
    figures.funded_cents += funded
    figures.fully_funded += funded == amount
    figures.zero_funded += funded == 0
    return "fully funded" if funded == amount else "not fully funded"


def import_loans_csv(
    path: str | Path,
    *,
    out: Writer | None = None,
    err: Writer | None = None,
    progress_every: int = 500,
    lender_pool: int = DEFAULT_POOL,
) -> ImportSummary:
    """Import every row of kiva_loans.csv through the services, each loan once and in its own transaction."""
    path = Path(path)
    problem = check_currency_lendable("USD")
    if problem:
        raise CsvFileError(problem)
    check_file(path)
    zone = ZoneInfo(settings.TIME_ZONE)
    args = {
        "zone": zone,
        "share_cents": settings.LOAN_SHARE_CENTS,
        "window_days": settings.LOAN_FUNDRAISING_DAYS,
        "max_cents": settings.LOAN_MAX_CENTS,
    }
    summary = ImportSummary(figures=FileFigures())
    cast = Cast(source=SOURCE, pool_size=lender_pool, currency="USD")
    progress = Progress(summary, err, progress_every, "kiva csv")
    assert summary.figures is not None
    for row in read_rows(path):
        summary.read += 1
        summary.source_statuses[_count(summary.figures, row)] += 1
        line = import_record(
            external_id=str(row.get("id") or "?").strip(),
            plan=partial(plan_csv_row, row, **args),
            cast=cast,
            batch=f"csv:{path.name}"[:64],
            summary=summary,
        )
        if line:
            progress.say(line)
        progress.tick()
    summary.finish()
    if out is not None:
        out.write("\n".join(summary.lines()) + "\n")
    return summary
