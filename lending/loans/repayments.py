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
from lending.db import add_to_columns, insert_row, pipeline
from lending.ledger.errors import IdempotencyConflict
from lending.ledger.services import account_ids, journal_post_transfers
from lending.loans import books, permissions, sql
from lending.loans.allocation import Allocation, allocate, parse_order
from lending.loans.errors import RepaymentRefused
from lending.loans.models import LenderPosition, Loan, Repayment
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


def _lender_parts(stakes: list[sql.Stake], loan_id: int, principal: int, interest_to_lenders: int) -> list[LenderPart]:
    try:
        principal_parts = split_cumulative(principal, [s.weight for s in stakes], [s.received for s in stakes])
    except MoneyError as exc:
        raise RepaymentRefused(f"loan {loan_id}: lenders' positions cannot take this principal ({exc})") from None
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


def _account_ids(
    loan: sql.LockedLoan, alloc: Allocation, platform: int, recovery: bool, found: dict[str, int]
) -> dict[str, int]:
    """{role: account id} of the accounts this repayment posts to, opening any that are new."""
    specs = books.account_specs(loan)
    needed = ["cash"] + ([] if recovery else ["receivable", "escrow"])
    needed += ["fee_income"] if platform else []
    needed += ["borrower_credit"] if alloc.leftover else []
    if any(specs[name].code not in found for name in needed):
        found = account_ids([specs[name] for name in needed])
    return {name: found[specs[name].code] for name in needed}


def _transfers(
    account: dict[str, int], alloc: Allocation, parts: list[LenderPart], platform: int, recovery: bool
) -> list[tuple[int, int, int]]:
    """The journal's (debit id, credit id, amount) transfers: principal via escrow, the rest from cash."""
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
    key: str, alloc: Allocation, owed: dict[int, int], parts: list[LenderPart], recovery: bool, on: date
) -> None:
    """Receipts, lender positions and installments, each in as few statements as the database allows."""
    sql.insert_receipts(key, [(p.lender_id, p.principal, p.interest) for p in parts if p.principal or p.interest])
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


def _read(loan: Loan, key: str) -> sql.RepaymentReads:
    """The locked loan and what the repayment needs of it, in one round trip when `loan` is up to date."""
    guess = books.account_specs(loan) if loan.currency else {}
    with pipeline():
        reads = sql.read_for_repayment(loan.pk, key, loan.currency, [spec.code for spec in guess.values()])
    if reads.loan is not None and reads.loan.currency != loan.currency:
        reads = sql.read_positions(reads, reads.loan.pk, reads.loan.currency)  # the caller's copy was stale
    return reads


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
    reads = _read(loan, key)
    locked = reads.loan
    if locked is None:
        raise RepaymentRefused(f"loan {loan.pk} does not exist", field="loan")
    if locked.earlier_repayment_id is not None:
        return _replay(locked.earlier_repayment_id, locked.pk, amount_cents, currency, received_on)
    if locked.status not in (S.PAYING_BACK, S.DEFAULTED):
        raise RepaymentRefused(f"loan {locked.pk} is {locked.status}, not paying back", field="loan")
    if currency != locked.currency:
        raise RepaymentRefused(f"currency: loan {locked.pk} is repaid in {locked.currency}", field="currency")
    recovery = locked.status == S.DEFAULTED
    alloc = allocate(amount_cents, reads.dues, parse_order(locked.allocation_order))
    interest, fees, principal = alloc.sum_of("interest"), alloc.sum_of("fees"), alloc.sum_of("principal")
    to_lenders = _interest_to_lenders(locked, interest)
    parts = _lender_parts(reads.stakes(recovery), locked.pk, principal, to_lenders)
    platform = interest - to_lenders + fees
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
        created_at=timezone.now(),
    )
    accounts = _account_ids(locked, alloc, platform, recovery, reads.account_ids)
    transfers = _transfers(accounts, alloc, parts, platform, recovery)
    owed = {d.key: d.fees + d.interest + d.principal for d in reads.dues}
    _write(repayment, transfers, alloc, owed, parts)
    if not recovery and sum(owed.values()) == amount_cents - alloc.leftover:
        loan_transition(loan=Loan(pk=locked.pk), to=S.REPAID, actor=actor, reason="repaid in full", on=received_on)
    return repayment


def _write(
    repayment: Repayment,
    transfers: list[tuple[int, int, int]],
    alloc: Allocation,
    owed: dict[int, int],
    parts: list[LenderPart],
) -> None:
    """Post the journal and save the repayment, its receipts and the loan's progress: two round trips."""
    kind = "recovery" if repayment.is_recovery else "repayment"
    with pipeline():  # the journal's checks wait for one answer; every write after them travels in one more
        journal = journal_post_transfers(
            idempotency_key=f"repayment:{repayment.idempotency_key}",
            kind=kind,
            transfers=transfers,
            effective_at=books.moment(repayment.received_on),
            description=f"Loan {repayment.loan_id}: {kind} received {repayment.received_on}",
            metadata={"loan": repayment.loan_id, "source": repayment.source},
            savepoint=False,  # the caller is one atomic block: any error here abandons all of it
        )
        repayment.journal_id = journal.pk
        inserted = insert_row(Repayment, repayment)
        _save_progress(repayment.idempotency_key, alloc, owed, parts, repayment.is_recovery, repayment.received_on)
    repayment.pk = inserted()
    repayment._state.adding, repayment._state.db = False, connection.alias
