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

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from lending.db import add_to_columns, insert_row, insert_rows
from lending.ledger.errors import IdempotencyConflict
from lending.ledger.services import account_ids, journal_post_transfers
from lending.loans import books, permissions, sql
from lending.loans.allocation import Allocation, allocate, parse_order
from lending.loans.errors import RepaymentRefused
from lending.loans.models import LenderPosition, Loan, Repayment, RepaymentSplit
from lending.loans.transitions import loan_transition
from lending.money import MoneyError, split_cumulative, split_pro_rata

S = Loan.Status


@dataclass(frozen=True, slots=True)
class LenderPart:
    position_id: int
    lender_id: int
    wallet_id: int
    principal: int
    interest: int


def _check(amount_cents: int, currency: str, source: str, idempotency_key: str) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise RepaymentRefused("amount_cents: must be a positive whole number of minor units", field="amount_cents")
    if source not in Repayment.Source.values:
        raise RepaymentRefused(f"source: must be one of {', '.join(Repayment.Source.values)}", field="source")
    if not isinstance(idempotency_key, str) or not idempotency_key or len(idempotency_key) > 150:
        raise RepaymentRefused("idempotency_key: must be 1 to 150 characters", field="idempotency_key")


def _replay(repayment_id: int, loan_id: int, amount_cents: int, currency: str, received_on: date) -> Repayment:
    earlier = Repayment.objects.get(pk=repayment_id)
    if (earlier.loan_id, earlier.amount_cents, earlier.currency, earlier.received_on) != (
        loan_id, amount_cents, currency, received_on
    ):  # fmt: skip
        raise IdempotencyConflict(earlier.idempotency_key)
    return earlier


def _lender_parts(loan: sql.LockedLoan, principal: int, interest_to_lenders: int, recovery: bool) -> list[LenderPart]:
    stakes = sql.stakes(loan.pk, loan.currency, recovery)
    try:
        principal_parts = split_cumulative(principal, [s.weight for s in stakes], [s.received for s in stakes])
    except MoneyError as exc:
        raise RepaymentRefused(f"loan {loan.pk}: lenders' positions cannot take this principal ({exc})") from None
    interest_parts = (
        split_pro_rata(interest_to_lenders, [s.lent for s in stakes]) if interest_to_lenders else [0] * len(stakes)
    )
    return [
        LenderPart(s.position_id, s.lender_id, s.wallet_id, a, b)
        for s, a, b in zip(stakes, principal_parts, interest_parts, strict=True)
    ]


def _interest_to_lenders(loan: sql.LockedLoan, interest: int) -> int:
    """The lenders' part of the borrower's interest: lender rate over borrower rate."""
    rate, lender_rate = loan.annual_interest_rate, loan.lender_interest_rate
    if interest == 0 or rate == 0 or lender_rate == 0:
        return 0
    scale = 10**4  # rates have four decimal places
    return split_pro_rata(interest, [int(lender_rate * scale), int((rate - lender_rate) * scale)])[0]


def _transfers(
    loan: sql.LockedLoan, alloc: Allocation, parts: list[LenderPart], platform: int, recovery: bool
) -> list[tuple[int, int, int]]:
    """The journal's (debit id, credit id, amount) transfers: principal via escrow, the rest from cash."""
    specs = books.account_specs(loan)
    needed = ["cash"] + ([] if recovery else ["receivable", "escrow"])
    needed += ["fee_income"] if platform else []
    needed += ["borrower_credit"] if alloc.leftover else []
    ids = account_ids([specs[name] for name in needed])
    account = {name: ids[specs[name].code] for name in needed}
    cash = account["cash"]
    principal = alloc.sum_of("principal")
    transfers = []
    if recovery:
        # Written off already: the money goes straight from cash to the lenders.
        transfers += [(cash, p.wallet_id, p.principal + p.interest) for p in parts if p.principal + p.interest]
    else:
        if principal:
            transfers.append((cash, account["receivable"], principal))
            transfers += [(account["escrow"], p.wallet_id, p.principal) for p in parts if p.principal]
        transfers += [(cash, p.wallet_id, p.interest) for p in parts if p.interest]
    if platform:
        transfers.append((cash, account["fee_income"], platform))
    if alloc.leftover:
        transfers.append((cash, account["borrower_credit"], alloc.leftover))
    return transfers


def _save_progress(
    repayment_id: int, alloc: Allocation, owed: dict[int, int], parts: list[LenderPart], recovery: bool, on: date
) -> None:
    """Receipts, lender positions and installments, each in as few statements as the database allows."""
    insert_rows(
        RepaymentSplit,
        ["repayment", "lender", "principal_cents", "interest_cents"],
        [(repayment_id, p.lender_id, p.principal, p.interest) for p in parts if p.principal or p.interest],
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
    sql.pay_installments(alloc.paid, owed, on)


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
    _check(amount_cents, currency, source, idempotency_key)
    received_on = received_on or timezone.localdate()
    key = f"{loan.pk}:{idempotency_key}"
    if actor is not None:
        permissions.require_can_record_repayment(actor, loan, source)
    # One statement locks the loan and looks for the key, so a concurrent twin is seen once it has committed.
    locked = sql.lock_for_repayment(loan.pk, key)
    if locked is None:
        raise RepaymentRefused(f"loan {loan.pk} does not exist", field="loan")
    if locked.earlier_repayment_id is not None:
        return _replay(locked.earlier_repayment_id, locked.pk, amount_cents, currency, received_on)
    if locked.status not in (S.PAYING_BACK, S.DEFAULTED):
        raise RepaymentRefused(f"loan {locked.pk} is {locked.status}, not paying back", field="loan")
    if currency != locked.currency:
        raise RepaymentRefused(f"currency: loan {locked.pk} is repaid in {locked.currency}", field="currency")
    recovery = locked.status == S.DEFAULTED
    dues = sql.open_dues(locked.pk)
    alloc = allocate(amount_cents, dues, parse_order(locked.allocation_order))
    interest, fees, principal = alloc.sum_of("interest"), alloc.sum_of("fees"), alloc.sum_of("principal")
    to_lenders = _interest_to_lenders(locked, interest)
    parts = _lender_parts(locked, principal, to_lenders, recovery)
    platform = interest - to_lenders + fees
    kind = "recovery" if recovery else "repayment"
    journal = journal_post_transfers(
        idempotency_key=f"repayment:{key}",
        kind=kind,
        transfers=_transfers(locked, alloc, parts, platform, recovery),
        effective_at=books.moment(received_on),
        description=f"Loan {locked.pk}: {kind} received {received_on}",
        metadata={"loan": locked.pk, "source": source},
        savepoint=False,  # this whole function is one atomic block: any error here abandons all of it
    )
    repayment = Repayment(
        loan_id=locked.pk,
        amount_cents=amount_cents,
        currency=currency,
        received_on=received_on,
        source=source,
        idempotency_key=key,
        recorded_by_id=actor.pk if actor is not None else None,
        principal_cents=principal,
        interest_cents=interest,
        fees_cents=fees,
        overpayment_cents=alloc.leftover,
        lender_interest_cents=to_lenders,
        platform_cents=platform,
        is_recovery=recovery,
        journal_id=journal.pk,
        created_at=timezone.now(),
    )
    repayment.pk = insert_row(Repayment, {f.name: getattr(repayment, f.attname) for f in _REPAYMENT_COLUMNS})
    repayment._state.adding, repayment._state.db = False, connection.alias
    owed = {d.key: d.fees + d.interest + d.principal for d in dues}
    _save_progress(repayment.pk, alloc, owed, parts, recovery, received_on)
    if not recovery and sum(owed.values()) == amount_cents - alloc.leftover:
        loan_transition(loan=Loan(pk=locked.pk), to=S.REPAID, actor=actor, reason="repaid in full", on=received_on)
    return repayment


_REPAYMENT_COLUMNS = [f for f in Repayment._meta.concrete_fields if not f.primary_key]
