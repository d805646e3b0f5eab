"""Import Kiva's API data snapshot (`{"header": {..., "date"}, "loans": [...]}`, .json or .json.gz).

The file is streamed (ijson): one loan in memory at a time, whatever the file's size. Each loan
is planned (`plan_api_loan`: malformed records are reported by id and reason, and skipped), then
replayed through the services in its own transaction and remembered (lending.imports.loans), so a
second run changes nothing and a crashed run resumes after the last loan it committed. Then the
close of business runs up to the snapshot's date, and Kiva's outcomes are compared with ours.

Kiva's statuses and the nearest path through our state table:

    paid, defaulted, in_repayment   funded on the funding date, paid out on terms.disbursal_date,
                                    every payment recorded on its processed_date; the close decides
    funded                          fully funded, not paid out
    fundraising                     listed, with what lenders put in; the close expires it after its date
    expired                         listed, part-funded, expired the day after its window: shares returned
    refunded                        fully funded, then refunded before payout: every lender made whole
                                    (Kiva zeroes funded_amount and gives no refund date: the later of
                                    the funding and disbursal dates is used)
    deleted                         cancelled (from the draft when it was never posted), on the snapshot's date
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

import ijson
from django.conf import settings

from lending.imports import closing
from lending.imports.cast import Cast, check_currency_lendable
from lending.imports.comparison import compare
from lending.imports.plans import (
    LoanPlan,
    Malformed,
    PaymentPlan,
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
from lending.imports.summary import ImportSummary, Progress, Writer
from lending.loans.models import Loan

S = Loan.Status
SOURCE = "kiva"
DEFAULT_POOL = 200  # synthetic lenders shared by all loans (a loan with more lenders widens it)

# Kiva's status -> the furthest step we drive the loan to (the close may take it further).
PATHS = {
    "fundraising": S.FUNDRAISING, "funded": S.FUNDED, "in_repayment": S.PAYING_BACK, "paid": S.PAYING_BACK,
    "defaulted": S.PAYING_BACK, "refunded": S.REFUNDED, "deleted": S.CANCELLED, "expired": S.EXPIRED,
}  # fmt: skip


class SnapshotError(Exception):
    """The file itself cannot be read (missing, not JSON, no header date); the message is a sentence."""


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_header(path: Path) -> dict[str, Any]:
    """The snapshot's header; it comes first in Kiva's files, so only the file's start is read."""
    try:
        with _open(path) as f:
            for header in ijson.items(f, "header"):
                if isinstance(header, dict):
                    return header
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such file.") from None
    except (OSError, EOFError, ijson.JSONError) as exc:
        raise SnapshotError(f"{path}: not a Kiva snapshot ({exc}).") from None
    raise SnapshotError(f'{path}: no header: a Kiva snapshot starts {{"header": {{..., "date": ...}}}}.')


def header_date(path: Path, zone: ZoneInfo) -> date:
    header = read_header(path)
    try:
        on = day(header.get("date"), "header.date", zone)
    except Malformed as exc:
        raise SnapshotError(f"{path}: {exc}.") from None
    assert on is not None  # required=True
    return on


def read_loans(path: Path) -> Iterator[Any]:
    """Each record of `loans`, parsed one at a time (numbers as int or Decimal, never float)."""
    try:
        with _open(path) as f:
            yield from ijson.items(f, "loans.item")
    except (OSError, EOFError, ijson.JSONError) as exc:
        raise SnapshotError(f"{path}: the file breaks off or is not JSON ({exc}).") from None


def _after(on: date | None, snapshot_on: date, name: str) -> None:
    if on is not None and on > snapshot_on:
        raise Malformed(f"{name}: {on} is after the snapshot's date {snapshot_on}")


def _funding(status: str, target: str, amount: int, kiva_funded: int) -> int:
    """What lenders put in before the loan's end; Kiva's funded_amount, or the amount where Kiva zeroed it."""
    if target in (S.PAYING_BACK, S.FUNDED):
        if kiva_funded != amount:
            raise Malformed(f"funded_amount: {kiva_funded / 100:.2f} is not the loan amount on a {status} loan")
        return amount
    if target == S.REFUNDED:
        return amount  # Kiva sets funded_amount to 0 once the lenders have their money back
    if kiva_funded >= amount:
        raise Malformed(f"funded_amount: a fully funded loan cannot be {status}")
    return kiva_funded


def _schedule(terms: dict[str, Any], disbursed: date, amount: int, zone: ZoneInfo) -> tuple[tuple[date, int], ...]:
    rows = []
    for row in terms.get("scheduled_payments") or []:
        if not isinstance(row, dict):
            raise Malformed("terms.scheduled_payments: a row is not an object")
        due = day(row.get("due_date"), "terms.scheduled_payments.due_date", zone)
        assert due is not None
        rows.append((due, cents(row.get("amount"), "terms.scheduled_payments.amount", allow_zero=True)))
    rows.sort()
    previous = disbursed
    for due, _ in rows:
        if due <= previous:
            raise Malformed(f"terms.scheduled_payments: due date {due} does not follow {previous}")
        previous = due
    if rows and sum(principal for _, principal in rows) != amount:
        total = sum(principal for _, principal in rows)
        raise Malformed(f"terms.scheduled_payments: they sum to {total / 100:.2f}, not the loan amount")
    return tuple(rows)


def _payments(
    raw: dict[str, Any], external_id: str, disbursed: date, snapshot_on: date, zone: ZoneInfo
) -> list[PaymentPlan]:
    planned: list[PaymentPlan] = []
    for index, payment in enumerate(raw.get("payments") or []):
        if not isinstance(payment, dict):
            raise Malformed("payments: a payment is not an object")
        processed = day(payment.get("processed_date"), "payments.processed_date", zone)
        assert processed is not None
        _after(processed, snapshot_on, "payments.processed_date")
        amount = cents(payment.get("amount"), "payments.amount")
        key = str(payment.get("payment_id") or f"{external_id}-{index}")
        planned.append(PaymentPlan(key=key, amount_cents=amount, on=max(processed, disbursed), processed_on=processed))
    keys = Counter(p.key for p in planned)
    if keys and keys.most_common(1)[0][1] > 1:
        raise Malformed(f"payments.payment_id: {keys.most_common(1)[0][0]} appears more than once")
    # Kiva's processed order; payment ids break ties between payments of one day.
    planned.sort(key=lambda p: (p.processed_on, int(p.key) if p.key.isdigit() else 0, p.key))
    return planned


def _dates(raw: dict[str, Any], terms: dict[str, Any], snapshot_on: date, zone: ZoneInfo) -> dict[str, date | None]:
    dates = {
        name: day(value, name, zone, required=False)
        for name, value in (
            ("posted_date", raw.get("posted_date")),
            ("funded_date", raw.get("funded_date")),
            ("terms.disbursal_date", terms.get("disbursal_date")),
            ("planned_expiration_date", raw.get("planned_expiration_date")),
        )
    }
    for name in ("posted_date", "funded_date", "terms.disbursal_date"):
        _after(dates[name], snapshot_on, name)
    return dates


def _paid_out(
    raw: dict[str, Any], status: str, amount: int, dates: dict[str, date | None], context: dict[str, Any]
) -> dict[str, Any]:
    """Listing, funding, payout and payments of a loan Kiva paid out (paid, defaulted, in repayment)."""
    disbursal = dates["terms.disbursal_date"]
    if disbursal is None:
        raise Malformed(f"terms.disbursal_date: missing on a {status} loan")
    zone, snapshot_on = context["zone"], context["snapshot_on"]
    schedule = _schedule(raw.get("terms") or {}, disbursal, amount, zone)
    listed, days, funded_on, notes = listing_dates(
        posted=dates["posted_date"],
        funded=dates["funded_date"] or disbursal,
        disbursed=disbursal,
        window_days=context["window_days"],
        expires=None,
    )
    payments = _payments(raw, str(raw["id"]), disbursal, snapshot_on, zone)
    moved = sum(1 for p in payments if p.on != p.processed_on)
    if moved:
        notes.append(f"{moved} payment(s) processed before the disbursal date: recorded on it")
    return {
        "posted_on": listed, "fundraising_days": days, "funded_on": funded_on, "notes": notes,
        "schedule": schedule, "disbursed_on": disbursal, "payments": tuple(payments),
    }  # fmt: skip


def _not_paid_out(
    raw: dict[str, Any], status: str, target: str, funding: int, dates: dict[str, date | None], context: dict[str, Any]
) -> dict[str, Any]:
    """Listing, funding and end of a loan Kiva never paid out (refunded, deleted, expired, fundraising, funded)."""
    if raw.get("payments"):
        raise Malformed(f"payments: {len(raw['payments'])} payment(s) on a {status} loan that was never paid out")
    posted, funded, disbursal = dates["posted_date"], dates["funded_date"], dates["terms.disbursal_date"]
    if target == S.CANCELLED and posted is None and funding == 0:  # never listed: cancelled as a draft
        return {"posted_on": None, "ended_on": context["snapshot_on"], "notes": []}
    listed, days, funded_on, notes = listing_dates(
        posted=posted,
        funded=(funded or disbursal or posted) if target in (S.FUNDED, S.REFUNDED) else None,
        disbursed=None,
        window_days=context["window_days"],
        expires=dates["planned_expiration_date"],
    )
    ended_on = None
    if target == S.REFUNDED:  # Kiva gives no refund date: the later of funding and disbursal
        ended_on = max(d for d in (funded_on, disbursal, listed) if d is not None)
    elif target == S.EXPIRED:  # the day after the window closed
        ended_on = listed + timedelta(days=days + 1)
    elif target == S.CANCELLED:  # Kiva gives no deletion date: deleted by the snapshot's
        ended_on = context["snapshot_on"]
    return {
        "posted_on": listed, "fundraising_days": days, "funded_on": funded_on, "ended_on": ended_on,
        "notes": notes,
    }  # fmt: skip


def plan_api_loan(
    raw: Any, *, snapshot_on: date, zone: ZoneInfo, share_cents: int, window_days: int, max_cents: int
) -> LoanPlan:
    """The plan for one snapshot record, or Malformed naming the first field that stops it."""
    if not isinstance(raw, dict):
        raise Malformed("record: not a JSON object")
    external_id = str(whole(raw.get("id"), "id", low=1))
    status = raw.get("status") or ""
    if status not in PATHS:
        raise Malformed(f"status: {status!r} is not a Kiva loan status" if status else "status: empty")
    target = PATHS[status]
    amount = loan_amount(raw.get("loan_amount"), max_cents)
    kiva_funded = cents(raw.get("funded_amount"), "funded_amount", allow_zero=True)
    funding = _funding(status, target, amount, kiva_funded)
    lender_count = whole(raw.get("lender_count") or 0, "lender_count")
    size = share_size(
        amount_cents=amount, funded_cents=funding, lender_count=lender_count, platform_share_cents=share_cents
    )
    lenders, notes = lenders_for(funded_cents=funding, share_size_cents=size, lender_count=lender_count)
    terms, location = raw.get("terms") or {}, raw.get("location") or {}
    if not isinstance(terms, dict) or not isinstance(location, dict):
        raise Malformed(f"{'terms' if not isinstance(terms, dict) else 'location'}: not a JSON object")
    dates = _dates(raw, terms, snapshot_on, zone)
    context = {"zone": zone, "snapshot_on": snapshot_on, "window_days": window_days}
    if target == S.PAYING_BACK:
        life = _paid_out(raw, status, amount, dates, context)
    else:
        life = _not_paid_out(raw, status, target, funding, dates, context)
    notes += life.pop("notes")
    if not terms.get("repayment_term") and target != S.PAYING_BACK:
        notes.append("no repayment term: 1 recorded (never paid out, so never used)")
    borrowers = [b for b in raw.get("borrowers") or [] if isinstance(b, dict)]
    return LoanPlan(
        external_id=external_id,
        source_status=status,
        target=target,
        amount_cents=amount,
        funded_cents=funding,
        share_size_cents=size,
        lender_count=lenders,
        sector=sector(raw.get("sector")),
        country=country(location.get("country_code")),
        partner_id=None if raw.get("partner_id") is None else str(whole(raw.get("partner_id"), "partner_id")),
        borrower_count=max(len(borrowers), 1),
        borrower_gender=gender([str(b.get("gender") or "") for b in borrowers]),
        purpose=str(raw.get("activity") or raw.get("sector") or "Kiva loan")[:200],
        repayments=_repayments(terms, target, life.get("schedule", ())),
        bullet=terms.get("repayment_interval") == "At end of term" and not life.get("schedule"),
        notes=tuple(notes),
        details={
            "format": "api",
            "snapshot": snapshot_on.isoformat(),
            "status": status,
            "amount_cents": amount,
            "funded_cents": kiva_funded,
            "paid_cents": sum(p.amount_cents for p in life.get("payments", ())),
        },
        **life,
    )


def _repayments(terms: dict[str, Any], target: str, schedule: tuple[tuple[date, int], ...]) -> int:
    if schedule:
        return len(schedule)
    term = terms.get("repayment_term")
    if term is None:
        if target == S.PAYING_BACK:
            raise Malformed("terms.repayment_term: missing, and no scheduled_payments")
        return 1  # never paid out: the term is never used
    return whole(term, "terms.repayment_term", low=1, high=600)


def _import(raw: Any, plan_args: dict[str, Any], cast: Cast, batch: str, summary: ImportSummary) -> str | None:
    external_id = str(raw.get("id")) if isinstance(raw, dict) else "?"
    if isinstance(raw, dict):
        summary.source_statuses[str(raw.get("status") or "")] += 1
    return import_record(
        external_id=external_id,
        plan=lambda: plan_api_loan(raw, **plan_args),
        cast=cast,
        batch=batch,
        summary=summary,
    )


def import_snapshot(
    paths: Iterable[str | Path],
    *,
    out: Writer | None = None,
    err: Writer | None = None,
    progress_every: int = 100,
    lender_pool: int = DEFAULT_POOL,
    close: bool = True,
) -> ImportSummary:
    """Import every loan of the snapshot files, close the books to the snapshot's date and compare with Kiva.

    Raises SnapshotError, before writing anything, when a file is missing or has no header date;
    a file that breaks off part-way raises it after the loans before the break are committed (a
    second run resumes). `out` gets the summary and the comparison, `err` progress and problems.
    """
    files = [Path(p) for p in paths]
    problem = check_currency_lendable("USD")
    if problem:
        raise SnapshotError(problem)
    zone = ZoneInfo(settings.TIME_ZONE)
    dated = [(path, header_date(path, zone)) for path in files]
    summary = ImportSummary()
    cast = Cast(source=SOURCE, pool_size=lender_pool, currency="USD")
    progress = Progress(summary, err, progress_every, "kiva snapshot")
    for path, snapshot_on in dated:
        plan_args = {
            "snapshot_on": snapshot_on,
            "zone": zone,
            "share_cents": settings.LOAN_SHARE_CENTS,
            "window_days": settings.LOAN_FUNDRAISING_DAYS,
            "max_cents": settings.LOAN_MAX_CENTS,
        }
        try:
            for raw in read_loans(path):
                summary.read += 1
                line = _import(raw, plan_args, cast, f"api:{snapshot_on.isoformat()}", summary)
                if line:
                    progress.say(line)
                progress.tick()
        except SnapshotError as exc:
            raise SnapshotError(
                f"{exc} The {summary.imported:,} loan(s) imported before it are kept: run the import again to resume."
            ) from None
    summary.finish()
    batches = sorted({f"api:{on.isoformat()}" for _, on in dated})
    if close and dated:
        summary.close = closing.close_through(max(on for _, on in dated), batches=batches)
    summary.comparison = compare(batches=batches)
    if out is not None:
        out.write("\n".join([*summary.lines(), summary.close, *summary.comparison.lines()]) + "\n")
    return summary
