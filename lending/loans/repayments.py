"""Repayments: allocate to installments, split among the lenders to the cent, post one journal.

Principal is split so that each lender's running total is the largest-remainder split, pro rata
to their shares, of all principal repaid so far (`money.split_cumulative`): never past their
principal, and once the loan is repaid each has received exactly what they lent. Interest for
lenders (0% by default, as on Kiva) is split pro rata to what they lent; the rest of the interest
and all fees go to the platform. Anything beyond what the loan owes is
held as the borrower's credit. A payment after default is a recovery: it still goes to the
lenders, in proportion to what each had written off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from lending.db import add_to_columns, insert_rows
from lending.ledger.errors import IdempotencyConflict
from lending.ledger.services import Line, journal_post
from lending.loans import books, permissions
from lending.loans.allocation import Allocation, Due, allocate, parse_order
from lending.loans.errors import RepaymentRefused
from lending.loans.models import Installment, LenderPosition, Loan, Repayment, RepaymentSplit
from lending.loans.transitions import loan_lock, loan_transition
from lending.money import MoneyError, split_cumulative, split_pro_rata

S = Loan.Status


@dataclass(frozen=True, slots=True)
class LenderPart:
    position_id: int
    lender_id: int
    principal: int
    interest: int


def _check(amount_cents: int, currency: str, source: str) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise RepaymentRefused("amount_cents: must be a positive whole number of minor units", field="amount_cents")
    if source not in Repayment.Source.values:
        raise RepaymentRefused(f"source: must be one of {', '.join(Repayment.Source.values)}", field="source")


def _replay(key: str, loan: Loan, amount_cents: int, currency: str, received_on: date) -> Repayment | None:
    earlier = Repayment.objects.filter(idempotency_key=key).first()
    if earlier is None:
        return None
    if (earlier.loan_id, earlier.amount_cents, earlier.currency, earlier.received_on) != (
        loan.pk, amount_cents, currency, received_on
    ):  # fmt: skip
        raise IdempotencyConflict(key)
    return earlier


def _lender_parts(loan: Loan, principal: int, interest_to_lenders: int, recovery: bool) -> list[LenderPart]:
    # (position id, lender id, principal weight, principal received so far, lent): plain rows, no models.
    weight, received = (
        ("written_off_cents", "recovered_cents") if recovery else ("lent_cents", "principal_repaid_cents")
    )
    rows = list(
        LenderPosition.objects.filter(loan=loan, lent_cents__gt=0)
        .order_by("lender_id")
        .values_list("pk", "lender_id", F(weight) - (0 if recovery else F("refunded_cents")), received, "lent_cents")
    )
    try:
        principal_parts = split_cumulative(principal, [r[2] for r in rows], [r[3] for r in rows])
    except MoneyError as exc:
        raise RepaymentRefused(f"loan {loan.pk}: lenders' positions cannot take this principal ({exc})") from None
    interest_parts = (
        split_pro_rata(interest_to_lenders, [r[4] for r in rows]) if interest_to_lenders else [0] * len(rows)
    )
    return [LenderPart(r[0], r[1], a, b) for r, a, b in zip(rows, principal_parts, interest_parts, strict=True)]


def _interest_to_lenders(loan: Loan, interest: int) -> int:
    """The lenders' part of the borrower's interest: lender rate over borrower rate."""
    rate, lender_rate = Decimal(loan.annual_interest_rate), Decimal(loan.lender_interest_rate)
    if interest == 0 or rate == 0 or lender_rate == 0:
        return 0
    scale = 10**4  # rates have four decimal places
    return split_pro_rata(interest, [int(lender_rate * scale), int((rate - lender_rate) * scale)])[0]


def _journal_lines(loan: Loan, alloc: Allocation, parts: list[LenderPart], platform: int, recovery: bool) -> list[Line]:
    book = books.loan_books(loan, [p.lender_id for p in parts])
    cash, wallets = book.cash, book.wallets
    principal = alloc.sum_of("principal")
    lines = []
    if recovery:
        # Written off already: the money goes straight from cash to the lenders.
        lines += [Line(cash, wallets[p.lender_id], p.principal + p.interest) for p in parts if p.principal + p.interest]
    else:
        if principal:
            lines.append(Line(cash, book.receivable, principal))
            lines += [Line(book.escrow, wallets[p.lender_id], p.principal) for p in parts if p.principal]
        lines += [Line(cash, wallets[p.lender_id], p.interest) for p in parts if p.interest]
    if platform:
        lines.append(Line(cash, book.fee_income, platform))
    if alloc.leftover:
        lines.append(Line(cash, book.borrower_credit, alloc.leftover))
    return lines


def _save_progress(
    repayment: Repayment, alloc: Allocation, owed: dict[int, int], parts: list[LenderPart], recovery: bool, on: date
) -> None:
    """Receipts, lender positions and installments, each in as few statements as the database allows."""
    insert_rows(
        RepaymentSplit,
        ["repayment", "lender", "principal_cents", "interest_cents"],
        [(repayment.pk, p.lender_id, p.principal, p.interest) for p in parts if p.principal or p.interest],
    )
    # Positions change in one statement: (pk, principal repaid, recovered, interest received) deltas.
    add_to_columns(
        LenderPosition,
        ["principal_repaid_cents", "recovered_cents", "interest_received_cents"],
        [
            (p.position_id, 0 if recovery else p.principal, p.principal if recovery else 0, p.interest)
            for p in parts
            if p.principal or p.interest
        ],
    )
    for paid in alloc.paid:  # usually one installment, two when a payment completes one and starts the next
        Installment.objects.filter(pk=paid.key).update(
            paid_fees_cents=F("paid_fees_cents") + paid.fees,
            paid_interest_cents=F("paid_interest_cents") + paid.interest,
            paid_principal_cents=F("paid_principal_cents") + paid.principal,
            paid_on=on if paid.total == owed[paid.key] else None,
        )


@transaction.atomic
def repayment_record(
    *,
    loan: Loan,
    amount_cents: int,
    currency: str,
    received_on: date | None = None,
    source: str,
    idempotency_key: str,
    actor: User | None,
) -> Repayment:
    """Record money received for a loan, once per key; returns the repayment with its split."""
    _check(amount_cents, currency, source)
    if not idempotency_key or len(idempotency_key) > 150:
        raise RepaymentRefused("idempotency_key: must be 1 to 150 characters", field="idempotency_key")
    received_on = received_on or timezone.localdate()
    key = f"{loan.pk}:{idempotency_key}"
    if actor is not None:
        permissions.require_can_record_repayment(actor, loan, source)
    locked = loan_lock(loan.pk)
    # Under the loan lock, so a concurrent twin with the same key is seen once it has committed.
    earlier = _replay(key, loan, amount_cents, currency, received_on)
    if earlier is not None:
        return earlier
    if locked.status not in (S.PAYING_BACK, S.DEFAULTED):
        raise RepaymentRefused(f"loan {locked.pk} is {locked.status}, not paying back", field="loan")
    if currency != locked.currency:
        raise RepaymentRefused(f"currency: loan {locked.pk} is repaid in {locked.currency}", field="currency")
    recovery = locked.status == S.DEFAULTED
    dues = [
        Due(*row)
        for row in Installment.objects.filter(loan=locked, paid_on__isnull=True)
        .order_by("number")
        .values_list(
            "pk",
            F("fees_cents") - F("paid_fees_cents"),
            F("interest_cents") - F("paid_interest_cents"),
            F("principal_cents") - F("paid_principal_cents"),
        )
    ]
    alloc = allocate(amount_cents, dues, parse_order(locked.allocation_order))
    interest = alloc.sum_of("interest")
    to_lenders = _interest_to_lenders(locked, interest)
    parts = _lender_parts(locked, alloc.sum_of("principal"), to_lenders, recovery)
    platform = interest - to_lenders + alloc.sum_of("fees")
    journal = journal_post(
        idempotency_key=f"repayment:{key}",
        kind="recovery" if recovery else "repayment",
        lines=_journal_lines(locked, alloc, parts, platform, recovery),
        effective_at=books.moment(received_on),
        description=f"Loan {locked.pk}: {'recovery' if recovery else 'repayment'} received {received_on}",
        metadata={"loan": locked.pk, "source": source},
    )
    repayment = Repayment.objects.create(
        loan=locked,
        amount_cents=amount_cents,
        currency=currency,
        received_on=received_on,
        source=source,
        idempotency_key=key,
        recorded_by=actor,
        principal_cents=alloc.sum_of("principal"),
        interest_cents=interest,
        fees_cents=alloc.sum_of("fees"),
        overpayment_cents=alloc.leftover,
        lender_interest_cents=to_lenders,
        platform_cents=platform,
        is_recovery=recovery,
        journal=journal,
    )
    owed = {d.key: d.fees + d.interest + d.principal for d in dues}
    _save_progress(repayment, alloc, owed, parts, recovery, received_on)
    if not recovery and sum(owed.values()) == amount_cents - alloc.leftover:
        loan_transition(loan=locked, to=S.REPAID, actor=actor, reason="repaid in full", on=received_on)
    return repayment
