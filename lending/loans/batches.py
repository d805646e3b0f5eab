"""Repayment batches: a field partner's report of many repayments, accepted whole or not at all.

Every row is checked first and every problem is reported at once, by row and field; only a batch
with no problem is recorded, in one transaction, each row through `repayment_record` under a key
made from the row's own reference, so sending the same batch again records nothing twice. Should
a row fail while recording (a loan changed meanwhile), the whole batch rolls back and that row's
error is reported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from lending.ledger.errors import LedgerError
from lending.loans import permissions
from lending.loans.errors import LoanError
from lending.loans.models import Loan, Repayment
from lending.loans.repayments import repayment_record

MAX_ROWS = 1000
COLUMNS = ("loan", "amount_cents", "currency", "received_on", "reference")


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based, as a person counts the rows of their file
    field: str
    message: str


class BatchRefused(Exception):
    """The batch was not recorded; `errors` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the batch; nothing was recorded")
        self.errors = errors


@dataclass(frozen=True)
class BatchRow:
    loan: Loan
    amount_cents: int
    currency: str
    received_on: date
    reference: str


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """A CSV file with the header loan,amount_cents,currency,received_on,reference, as plain dicts."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BatchRefused([RowError(0, "header", f"the first line must name the columns {', '.join(COLUMNS)}; "
                                                  f"missing {', '.join(missing)}")])  # fmt: skip
    return [dict(row) for row in reader]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def repayment_batch_check(
    rows: list[dict[str, Any]], actor: User, source: str
) -> tuple[list[BatchRow], list[RowError]]:
    """The rows that may be recorded and every row's problems; reads only (a preview shows them before applying)."""
    errors: list[RowError] = []
    if not rows:
        return [], [RowError(0, "rows", "the batch has no rows")]
    if len(rows) > MAX_ROWS:
        return [], [RowError(0, "rows", f"at most {MAX_ROWS} rows per batch; split the file")]
    ids = {i for i in (_int(r.get("loan")) if isinstance(r, dict) else None for r in rows) if i}
    loans = {loan.pk: loan for loan in Loan.objects.filter(pk__in=ids).select_related("borrower")}
    today, seen, good = timezone.localdate(), set(), []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append(RowError(n, "row", "each row must be an object with loan, amount_cents, currency, "
                                             "received_on and reference"))  # fmt: skip
            continue
        problems: list[RowError] = []
        loan = loans.get(_int(row.get("loan")) or 0)
        if loan is not None and not _can_record(actor, loan, source):
            loan = None  # as if absent: say nothing of another partner's loan (its currency, its status)
        if loan is None:
            problems.append(RowError(n, "loan", f"no loan {row.get('loan')!r} that you may post repayments for"))
        amount = _int(row.get("amount_cents"))
        if amount is None or amount <= 0:
            problems.append(RowError(n, "amount_cents", "must be a positive whole number of minor units"))
        currency = str(row.get("currency") or "").strip().upper()
        if loan is not None and currency != loan.currency:
            problems.append(RowError(n, "currency", f"loan {loan.pk} is repaid in {loan.currency}"))
        try:
            received_on = date.fromisoformat(str(row.get("received_on") or "").strip())
        except ValueError:
            problems.append(RowError(n, "received_on", "must be a date like 2026-01-31"))
        else:
            if received_on > today:
                problems.append(RowError(n, "received_on", "cannot be in the future"))
        reference = str(row.get("reference") or "").strip()
        if not reference or len(reference) > 100:
            problems.append(RowError(n, "reference", "your own id for this payment, 1 to 100 characters"))
        elif reference in seen:
            problems.append(RowError(n, "reference", "appears twice in this batch"))
        seen.add(reference)
        if loan is not None and loan.status not in (Loan.Status.PAYING_BACK, Loan.Status.DEFAULTED):
            problems.append(RowError(n, "loan", f"loan {loan.pk} is {loan.status}, not paying back"))
        if problems or loan is None or amount is None:
            errors += problems
            continue
        good.append(BatchRow(loan, amount, currency, received_on, reference))
    return good, errors


def _can_record(actor: User, loan: Loan, source: str) -> bool:
    try:
        permissions.require_can_record_repayment(actor, loan, source)
    except LoanError:
        return False
    return True


def repayment_batch_record(*, rows: list[dict[str, Any]], actor: User, source: str) -> list[Repayment]:
    """Record every row or none; raises BatchRefused listing each problem. Rows are recorded in date order."""
    checked, errors = repayment_batch_check(rows, actor, source)
    if errors:
        raise BatchRefused(errors)
    recorded: dict[int, Repayment] = {}
    with transaction.atomic():
        # Every loan of the batch locked first, in id order: two batches sharing loans then queue. Locked one by
        # one as rows came, each held a loan and the lenders' wallets and waited for the other's loan (deadlock).
        ids = sorted({row.loan.pk for row in checked})
        list(Loan.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
        for i in sorted(range(len(checked)), key=lambda i: (checked[i].received_on, i)):
            row = checked[i]
            try:
                recorded[i] = repayment_record(
                    loan=row.loan, amount_cents=row.amount_cents, currency=row.currency,
                    received_on=row.received_on, source=source, idempotency_key=f"ref:{row.reference}", actor=actor,
                )  # fmt: skip
            except (LoanError, LedgerError) as exc:
                raise BatchRefused([RowError(i + 1, getattr(exc, "field", None) or "row", str(exc))]) from exc
    return [recorded[i] for i in range(len(checked))]
