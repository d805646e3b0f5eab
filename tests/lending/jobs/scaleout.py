"""A portfolio with a loan in every state a close handles, and everything a close may write, for comparing closes."""

from __future__ import annotations

from datetime import date
from typing import Any

from lending.ledger.models import Journal, LedgerAccount
from lending.loans.applications import loan_approve, loan_publish, loan_submit
from lending.loans.fundraising import share_purchase
from lending.loans.models import LenderPosition, LenderSettlement, Loan, LoanEvent
from lending.loans.repayments import repayment_record
from lending.metrics.models import PortfolioSnapshot
from lending.notifications.models import Digest
from tests.loans import buy

# Six months after 2026-01-12 (the weekly loans' only due date) has passed: they default on this close.
CLOSE = date(2026, 7, 20)


def pay(loan: Loan, cents: int, on: date) -> None:
    repayment_record(
        loan=loan, amount_cents=cents, currency="USD", received_on=on, source="staff",
        idempotency_key=f"pay-{loan.pk}-{on}-{cents}", actor=None,
    )  # fmt: skip


def build_every_state(*, make_lenders: Any, listed: Any, disbursed: Any, apply: Any, officer: Any) -> dict[str, int]:
    """Eleven loans, states interleaved by id so that every id range of a split close holds several kinds.

    On CLOSE: three expire (one share each), three are late (one not at all: 6 of 12 due, 1, 3 and 0 paid),
    one is 50 cents short (within tolerance), two default (one part-paid, two lenders), one is repaid, and
    one is still fundraising. Returns how many loans each state has, by the purpose's prefix.
    """
    lenders = make_lenders(3, 200_000)
    for n in range(3):
        buy(listed(purpose=f"expiring {n}", amount_cents=10_000, fundraising_days=30), [(lenders[n], 2_500)])
        late = disbursed([(lenders[0], 7_500), (lenders[1], 7_500)], purpose=f"late {n}", repayments=12)
        if n < 2:
            pay(late, 1_250 * (2 * n + 1), date(2026, 2, 5))
        if n == 0:
            weekly = disbursed([(lenders[1], 2_500)], purpose="defaulting 0", repayments=1, repayment_frequency="weeks")
        elif n == 1:
            pennies = disbursed([(lenders[2], 15_000)], purpose="pennies", repayments=12)
            pay(pennies, 6 * 1_250 - 50, date(2026, 7, 5))
            weekly = disbursed(
                [(lenders[0], 2_500), (lenders[2], 2_500)], purpose="defaulting 1", repayments=1,
                repayment_frequency="weeks",
            )  # fmt: skip
            pay(weekly, 1_000, date(2026, 1, 12))
        else:
            paid = disbursed([(lenders[1], 2_500)], purpose="paid", repayments=1)
            pay(paid, 2_500, date(2026, 2, 5))
    fresh = apply(purpose="fresh", amount_cents=10_000, fundraising_days=60)
    loan_submit(loan=fresh, actor=officer, on=date(2026, 7, 1))
    loan_approve(loan=fresh, actor=officer, on=date(2026, 7, 1))
    loan_publish(loan=fresh, actor=officer, on=date(2026, 7, 1))
    share_purchase(loan=fresh, lender=lenders[2], amount_cents=2_500, idempotency_key="fresh-1", on=date(2026, 7, 2))
    return {"expiring": 3, "late": 3, "pennies": 1, "defaulting": 2, "paid": 1, "fresh": 1}


def close_state() -> dict[str, list[Any]]:
    """Everything a close may write, keyed by what two runs of it share (purposes, account codes, keys), not ids."""
    figures = [f.name for f in PortfolioSnapshot._meta.concrete_fields if f.name not in {"id", "created_at"}]
    return {
        "loans": sorted(
            Loan.objects.values_list(
                "purpose",
                "status",
                "days_past_due",
                "amount_past_due_cents",
                "delinquent",
                "arrears_as_of",
                "written_off_cents",
                "ended_on",
            )
        ),
        "balances": sorted(LedgerAccount.objects.values_list("code", "debits_posted_cents", "credits_posted_cents")),
        "journals": sorted(Journal.objects.values_list("idempotency_key", "kind")),
        "events": sorted(LoanEvent.objects.values_list("loan__purpose", "from_status", "to_status", "business_date")),
        "positions": sorted(
            LenderPosition.objects.values_list(
                "loan__purpose",
                "lender_id",
                "lent_cents",
                "principal_repaid_cents",
                "written_off_cents",
                "refunded_cents",
            )
        ),
        "settlements": sorted(
            LenderSettlement.objects.values_list("loan__purpose", "lender_id", "kind", "principal_cents")
        ),
        "snapshots": sorted(
            PortfolioSnapshot.objects.values(*figures), key=lambda row: (row["dimension"], row["key"], row["currency"])
        ),
        "digests": sorted(Digest.objects.values_list("lender_id", "business_date", "subject", "body")),
    }
